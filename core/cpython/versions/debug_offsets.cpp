// _Py_DebugOffsets: a struct of uint64_t the 3.13+ runtime publishes at the start of
// _PyRuntime. Its own layout differs per minor version (fields are inserted mid-struct), so
// each known layout is the ordered list of its fields' names, copied from that version's
// Include/internal/pycore_debug_offsets.h; one table maps names onto PythonLayout.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"
#include "cpython/versions/debug_offsets.hpp"
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

namespace {

struct DebugOffsetsLayout {
    int minor;
    std::vector<std::string_view> slots;  // one name per uint64_t, in order
};

const DebugOffsetsLayout kLayout313{
    13,
    {
        "cookie",
        "version",
        "free_threaded",
        "runtime_state.size",
        "runtime_state.finalizing",
        "runtime_state.interpreters_head",
        "interpreter_state.size",
        "interpreter_state.id",
        "interpreter_state.next",
        "interpreter_state.threads_head",
        "interpreter_state.gc",
        "interpreter_state.imports_modules",
        "interpreter_state.sysdict",
        "interpreter_state.builtins",
        "interpreter_state.ceval_gil",
        "interpreter_state.gil_runtime_state",
        "interpreter_state.gil_runtime_state_enabled",
        "interpreter_state.gil_runtime_state_locked",
        "interpreter_state.gil_runtime_state_holder",
        "thread_state.size",
        "thread_state.prev",
        "thread_state.next",
        "thread_state.interp",
        "thread_state.current_frame",
        "thread_state.thread_id",
        "thread_state.native_thread_id",
        "thread_state.datastack_chunk",
        "thread_state.status",
        "interpreter_frame.size",
        "interpreter_frame.previous",
        "interpreter_frame.executable",
        "interpreter_frame.instr_ptr",
        "interpreter_frame.localsplus",
        "interpreter_frame.owner",
        "code_object.size",
        "code_object.filename",
        "code_object.name",
        "code_object.qualname",
        "code_object.linetable",
        "code_object.firstlineno",
        "code_object.argcount",
        "code_object.localsplusnames",
        "code_object.localspluskinds",
        "code_object.co_code_adaptive",
        "pyobject.size",
        "pyobject.ob_type",
        "type_object.size",
        "type_object.tp_name",
        "type_object.tp_repr",
        "type_object.tp_flags",
        "tuple_object.size",
        "tuple_object.ob_item",
        "tuple_object.ob_size",
        "list_object.size",
        "list_object.ob_item",
        "list_object.ob_size",
        "dict_object.size",
        "dict_object.ma_keys",
        "dict_object.ma_values",
        "float_object.size",
        "float_object.ob_fval",
        "long_object.size",
        "long_object.lv_tag",
        "long_object.ob_digit",
        "bytes_object.size",
        "bytes_object.ob_size",
        "bytes_object.ob_sval",
        "unicode_object.size",
        "unicode_object.state",
        "unicode_object.length",
        "unicode_object.asciiobject_size",
        "gc.size",
        "gc.collecting",
    },
};

// 3.14.10 (760 bytes): threads_main, the generation counters, stackpointer, tlbc, set,
// generator, llist and PEP 768 debugger fields were added.
const DebugOffsetsLayout kLayout314{
    14,
    {
        "cookie",
        "version",
        "free_threaded",
        "runtime_state.size",
        "runtime_state.finalizing",
        "runtime_state.interpreters_head",
        "interpreter_state.size",
        "interpreter_state.id",
        "interpreter_state.next",
        "interpreter_state.threads_head",
        "interpreter_state.threads_main",
        "interpreter_state.gc",
        "interpreter_state.imports_modules",
        "interpreter_state.sysdict",
        "interpreter_state.builtins",
        "interpreter_state.ceval_gil",
        "interpreter_state.gil_runtime_state",
        "interpreter_state.gil_runtime_state_enabled",
        "interpreter_state.gil_runtime_state_locked",
        "interpreter_state.gil_runtime_state_holder",
        "interpreter_state.code_object_generation",
        "interpreter_state.tlbc_generation",
        "thread_state.size",
        "thread_state.prev",
        "thread_state.next",
        "thread_state.interp",
        "thread_state.current_frame",
        "thread_state.thread_id",
        "thread_state.native_thread_id",
        "thread_state.datastack_chunk",
        "thread_state.status",
        "interpreter_frame.size",
        "interpreter_frame.previous",
        "interpreter_frame.executable",
        "interpreter_frame.instr_ptr",
        "interpreter_frame.localsplus",
        "interpreter_frame.owner",
        "interpreter_frame.stackpointer",
        "interpreter_frame.tlbc_index",
        "code_object.size",
        "code_object.filename",
        "code_object.name",
        "code_object.qualname",
        "code_object.linetable",
        "code_object.firstlineno",
        "code_object.argcount",
        "code_object.localsplusnames",
        "code_object.localspluskinds",
        "code_object.co_code_adaptive",
        "code_object.co_tlbc",
        "pyobject.size",
        "pyobject.ob_type",
        "type_object.size",
        "type_object.tp_name",
        "type_object.tp_repr",
        "type_object.tp_flags",
        "tuple_object.size",
        "tuple_object.ob_item",
        "tuple_object.ob_size",
        "list_object.size",
        "list_object.ob_item",
        "list_object.ob_size",
        "set_object.size",
        "set_object.used",
        "set_object.table",
        "set_object.mask",
        "dict_object.size",
        "dict_object.ma_keys",
        "dict_object.ma_values",
        "float_object.size",
        "float_object.ob_fval",
        "long_object.size",
        "long_object.lv_tag",
        "long_object.ob_digit",
        "bytes_object.size",
        "bytes_object.ob_size",
        "bytes_object.ob_sval",
        "unicode_object.size",
        "unicode_object.state",
        "unicode_object.length",
        "unicode_object.asciiobject_size",
        "gc.size",
        "gc.collecting",
        "gen_object.size",
        "gen_object.gi_name",
        "gen_object.gi_iframe",
        "gen_object.gi_frame_state",
        "llist_node.next",
        "llist_node.prev",
        "debugger_support.eval_breaker",
        "debugger_support.remote_debugger_support",
        "debugger_support.remote_debugging_enabled",
        "debugger_support.debugger_pending_call",
        "debugger_support.debugger_script_path",
        "debugger_support.debugger_script_path_size",
    },
};

// 3.15.2 (888 bytes): more thread-state fields, err_stackitem, tp_basicsize/tp_dictoffset,
// heap_type_object, compactunicodeobject_size and gc fields were inserted.
const DebugOffsetsLayout kLayout315{
    15,
    {
        "cookie",
        "version",
        "free_threaded",
        "runtime_state.size",
        "runtime_state.finalizing",
        "runtime_state.interpreters_head",
        "interpreter_state.size",
        "interpreter_state.id",
        "interpreter_state.next",
        "interpreter_state.threads_head",
        "interpreter_state.threads_main",
        "interpreter_state.gc",
        "interpreter_state.imports_modules",
        "interpreter_state.sysdict",
        "interpreter_state.builtins",
        "interpreter_state.ceval_gil",
        "interpreter_state.gil_runtime_state",
        "interpreter_state.gil_runtime_state_enabled",
        "interpreter_state.gil_runtime_state_locked",
        "interpreter_state.gil_runtime_state_holder",
        "interpreter_state.code_object_generation",
        "interpreter_state.tlbc_generation",
        "thread_state.size",
        "thread_state.prev",
        "thread_state.next",
        "thread_state.interp",
        "thread_state.current_frame",
        "thread_state.base_frame",
        "thread_state.last_profiled_frame",
        "thread_state.last_profiled_frame_seq",
        "thread_state.thread_id",
        "thread_state.native_thread_id",
        "thread_state.datastack_chunk",
        "thread_state.status",
        "thread_state.holds_gil",
        "thread_state.gil_requested",
        "thread_state.current_exception",
        "thread_state.exc_state",
        "err_stackitem.exc_value",
        "interpreter_frame.size",
        "interpreter_frame.previous",
        "interpreter_frame.executable",
        "interpreter_frame.instr_ptr",
        "interpreter_frame.localsplus",
        "interpreter_frame.owner",
        "interpreter_frame.stackpointer",
        "interpreter_frame.tlbc_index",
        "code_object.size",
        "code_object.filename",
        "code_object.name",
        "code_object.qualname",
        "code_object.linetable",
        "code_object.firstlineno",
        "code_object.argcount",
        "code_object.localsplusnames",
        "code_object.localspluskinds",
        "code_object.co_code_adaptive",
        "code_object.co_tlbc",
        "pyobject.size",
        "pyobject.ob_type",
        "type_object.size",
        "type_object.tp_name",
        "type_object.tp_repr",
        "type_object.tp_flags",
        "type_object.tp_basicsize",
        "type_object.tp_dictoffset",
        "heap_type_object.size",
        "heap_type_object.ht_cached_keys",
        "tuple_object.size",
        "tuple_object.ob_item",
        "tuple_object.ob_size",
        "list_object.size",
        "list_object.ob_item",
        "list_object.ob_size",
        "set_object.size",
        "set_object.used",
        "set_object.table",
        "set_object.mask",
        "dict_object.size",
        "dict_object.ma_keys",
        "dict_object.ma_values",
        "float_object.size",
        "float_object.ob_fval",
        "long_object.size",
        "long_object.lv_tag",
        "long_object.ob_digit",
        "bytes_object.size",
        "bytes_object.ob_size",
        "bytes_object.ob_sval",
        "unicode_object.size",
        "unicode_object.state",
        "unicode_object.length",
        "unicode_object.asciiobject_size",
        "unicode_object.compactunicodeobject_size",
        "gc.size",
        "gc.collecting",
        "gc.frame",
        "gc.generation_stats_size",
        "gc.generation_stats",
        "gen_object.size",
        "gen_object.gi_name",
        "gen_object.gi_iframe",
        "gen_object.gi_frame_state",
        "llist_node.next",
        "llist_node.prev",
        "debugger_support.eval_breaker",
        "debugger_support.remote_debugger_support",
        "debugger_support.remote_debugging_enabled",
        "debugger_support.debugger_pending_call",
        "debugger_support.debugger_script_path",
        "debugger_support.debugger_script_path_size",
    },
};

// The published fields the reader uses, and where they go. Each is checked as CPython's
// own reader checks them (Modules/_remote_debugging/debug_offsets_validation.h): the field
// lies inside its section, `<section>.size` bytes (the struct the section describes),
// offset + width <= size, at a multiple of its alignment.
struct FieldTarget {
    std::string_view name;  // "<section>.<field>"
    Offset PythonLayout::*field;
    uint64_t width;                  // bytes the reader reads there: sizeof the C field
    uint64_t alignment;              // alignof the C field
    std::string_view relative_to;    // "" or the field whose value is subtracted
    std::string_view width_of = "";  // an embedded struct: its width is this section's size
};

constexpr uint64_t kPointer = 8;  // also unsigned long, Py_ssize_t, int64_t, uint64_t
constexpr uint64_t kInt = 4;      // int, uint32_t digit, the str state bit field
constexpr uint64_t kChar = 1;

const FieldTarget kFieldTargets[] = {
    {"runtime_state.interpreters_head", &PythonLayout::runtime_interpreters_head, kPointer, kPointer, ""},
    {"runtime_state.finalizing", &PythonLayout::runtime_finalizing, kPointer, kPointer, ""},
    {"interpreter_state.gc", &PythonLayout::interp_gc, 0, kPointer, "", "gc"},
    {"gc.collecting", &PythonLayout::gc_collecting, kInt, kInt, ""},
    {"interpreter_state.id", &PythonLayout::interp_id, kPointer, kPointer, ""},
    {"interpreter_state.next", &PythonLayout::interp_next, kPointer, kPointer, ""},
    {"interpreter_state.threads_head", &PythonLayout::interp_threads_head, kPointer, kPointer, ""},
    {"interpreter_state.imports_modules", &PythonLayout::interp_modules, kPointer, kPointer, ""},
    {"interpreter_state.sysdict", &PythonLayout::interp_sysdict, kPointer, kPointer, ""},
    {"interpreter_state.ceval_gil", &PythonLayout::interp_gil, kPointer, kPointer, ""},
    // Published relative to PyInterpreterState (inside its own _gil); the reader follows
    // ceval.gil, which may point at another interpreter's.
    {"interpreter_state.gil_runtime_state_locked", &PythonLayout::gil_locked, kInt, kInt,
     "interpreter_state.gil_runtime_state"},
    {"interpreter_state.gil_runtime_state_holder", &PythonLayout::gil_last_holder, kPointer, kPointer,
     "interpreter_state.gil_runtime_state"},
    {"thread_state.next", &PythonLayout::tstate_next, kPointer, kPointer, ""},
    // The size itself, as an offset: where _PyThreadStateImpl's own fields start.
    {"thread_state.size", &PythonLayout::tstate_size, 0, kPointer, ""},
    {"thread_state.interp", &PythonLayout::tstate_interp, kPointer, kPointer, ""},
    {"thread_state.current_frame", &PythonLayout::tstate_frame, kPointer, kPointer, ""},
    {"thread_state.thread_id", &PythonLayout::tstate_thread_id, kPointer, kPointer, ""},
    {"thread_state.native_thread_id", &PythonLayout::tstate_native_thread_id, kPointer, kPointer, ""},
    {"interpreter_frame.previous", &PythonLayout::frame_previous, kPointer, kPointer, ""},
    {"interpreter_frame.executable", &PythonLayout::frame_code, kPointer, kPointer, ""},
    {"interpreter_frame.instr_ptr", &PythonLayout::frame_instruction, kPointer, kPointer, ""},
    {"interpreter_frame.localsplus", &PythonLayout::frame_localsplus, kPointer, kPointer, ""},
    {"interpreter_frame.owner", &PythonLayout::frame_owner, kChar, kChar, ""},
    {"interpreter_frame.stackpointer", &PythonLayout::frame_stack_top, kPointer, kPointer, ""},
    {"gen_object.gi_iframe", &PythonLayout::gen_frame, 0, kPointer, "", "interpreter_frame"},
    {"gen_object.gi_frame_state", &PythonLayout::gen_frame_state, kChar, kChar, ""},
    {"code_object.filename", &PythonLayout::code_filename, kPointer, kPointer, ""},
    {"code_object.name", &PythonLayout::code_name, kPointer, kPointer, ""},
    {"code_object.qualname", &PythonLayout::code_qualname, kPointer, kPointer, ""},
    {"code_object.linetable", &PythonLayout::code_linetable, kPointer, kPointer, ""},
    {"code_object.firstlineno", &PythonLayout::code_firstlineno, kInt, kInt, ""},
    {"code_object.argcount", &PythonLayout::code_argcount, kInt, kInt, ""},
    {"code_object.localsplusnames", &PythonLayout::code_localsplusnames, kPointer, kPointer, ""},
    {"code_object.localspluskinds", &PythonLayout::code_localspluskinds, kPointer, kPointer, ""},
    {"code_object.co_code_adaptive", &PythonLayout::code_adaptive, kChar, kChar, ""},  // char co_code_adaptive[1]
    {"pyobject.ob_type", &PythonLayout::object_type, kPointer, kPointer, ""},
    {"type_object.tp_name", &PythonLayout::type_name, kPointer, kPointer, ""},
    {"type_object.tp_flags", &PythonLayout::type_flags, kPointer, kPointer, ""},
    {"type_object.tp_basicsize", &PythonLayout::type_basicsize, kPointer, kPointer, ""},
    {"type_object.tp_dictoffset", &PythonLayout::type_dictoffset, kPointer, kPointer, ""},
    {"heap_type_object.ht_cached_keys", &PythonLayout::heap_type_cached_keys, kPointer, kPointer, ""},
    {"tuple_object.ob_item", &PythonLayout::tuple_items, kPointer, kPointer, ""},
    {"dict_object.ma_keys", &PythonLayout::dict_keys_ptr, kPointer, kPointer, ""},
    {"dict_object.ma_values", &PythonLayout::dict_values_ptr, kPointer, kPointer, ""},
    {"long_object.ob_digit", &PythonLayout::long_digits, kInt, kInt, ""},
    {"bytes_object.ob_size", &PythonLayout::bytes_size, kPointer, kPointer, ""},
    {"bytes_object.ob_sval", &PythonLayout::bytes_data, kChar, kChar, ""},
    {"unicode_object.state", &PythonLayout::unicode_state, kInt, kInt, ""},
    {"unicode_object.length", &PythonLayout::unicode_length, kPointer, kPointer, ""},
    // Sizes of the str headers, i.e. where the characters start: checked as a char there.
    {"unicode_object.asciiobject_size", &PythonLayout::unicode_ascii_data, kChar, kChar, ""},
    {"unicode_object.compactunicodeobject_size", &PythonLayout::unicode_compact_data, kChar, kChar, ""},
};

const DebugOffsetsLayout* debug_layout_for(int minor) {
    for (const DebugOffsetsLayout* known : {&kLayout313, &kLayout314, &kLayout315}) {
        if (known->minor == minor) return known;
    }
    return nullptr;
}

// No struct a section describes comes close to this (the largest, _PyRuntimeState, is
// about 350 KiB in 3.15).
constexpr uint64_t kMaxPlausibleSectionSize = 1 << 20;

uint64_t word(std::span<const uint8_t> raw, size_t index) {
    uint64_t v = 0;
    std::memcpy(&v, raw.data() + index * 8, 8);
    return v;
}

std::optional<size_t> slot_of(const DebugOffsetsLayout& layout, std::string_view name) {
    for (size_t i = 0; i < layout.slots.size(); ++i) {
        if (layout.slots[i] == name) return i;
    }
    return std::nullopt;
}

std::string_view section_of(std::string_view field) { return field.substr(0, field.find('.')); }

[[noreturn]] void implausible(std::string_view field, uint64_t value, const std::string& why) {
    throw bad_data("_Py_DebugOffsets field " + std::string(field) + " is implausible (" + hex(value) + "): " + why);
}

// The published values of one dump, checked as they are read.
class PublishedOffsets {
public:
    PublishedOffsets(const DebugOffsetsLayout& layout, std::span<const uint8_t> raw) : layout_(layout), raw_(raw) {}

    std::optional<uint64_t> value(std::string_view name) const {
        const auto slot = slot_of(layout_, name);
        return slot ? std::optional(word(raw_, *slot)) : std::nullopt;
    }

    // `<section>.size`: non-zero, a multiple of 8 (every described struct holds pointers) and
    // below kMaxPlausibleSectionSize; nullopt for a section that publishes no size.
    std::optional<uint64_t> section_size(std::string_view section) const {
        const std::string name = std::string(section) + ".size";
        const auto size = value(name);
        if (size && (*size == 0 || *size % 8 != 0 || *size >= kMaxPlausibleSectionSize)) {
            throw bad_data("_Py_DebugOffsets section " + std::string(section) + " has an implausible size (" +
                           hex(*size) + ")");
        }
        return size;
    }

    // `offset` (published as `field`) must be aligned and, `width` bytes from there, lie
    // inside `limit` bytes (`limit_name`).
    static void check_span(std::string_view field, uint64_t offset, uint64_t width, uint64_t alignment, uint64_t limit,
                           const std::string& limit_name) {
        if (alignment > 1 && offset % alignment != 0)
            implausible(field, offset, "not " + std::to_string(alignment) + "-byte aligned");
        if (offset >= kMaxPlausibleSectionSize || width > limit || offset > limit - width) {
            implausible(field, offset,
                        std::to_string(width) + " bytes from there do not fit in " + limit_name + " (" + hex(limit) +
                            " bytes)");
        }
    }

    // The field's value, checked against the size of its own section.
    uint64_t checked(const FieldTarget& target, uint64_t value) const {
        const std::string_view section = section_of(target.name);
        uint64_t width = target.width;
        if (!target.width_of.empty()) {
            const auto embedded = section_size(target.width_of);
            if (!embedded) throw bad_data("_Py_DebugOffsets has no size for " + std::string(target.width_of));
            width = *embedded;
        }
        const auto size = section_size(section);
        check_span(target.name, value, width, target.alignment, size ? *size : kMaxPlausibleSectionSize,
                   size ? std::string(section) : std::string("any struct"));
        return value;
    }

private:
    const DebugOffsetsLayout& layout_;
    std::span<const uint8_t> raw_;
};

}  // namespace

void apply_debug_offsets(PythonLayout& layout, std::span<const uint8_t> raw) {
    if (raw.size() < 24 || !starts_with_debug_offsets_cookie(raw)) {
        throw Error(ErrorKind::UnsupportedRuntime, "_PyRuntime does not start with the _Py_DebugOffsets cookie");
    }
    const uint64_t version_hex = word(raw, 1);
    const PythonVersion version = PythonVersion::from_hex(version_hex);
    const bool free_threaded = word(raw, 2) != 0;
    const DebugOffsetsLayout* known = debug_layout_for(version.minor);
    if (version.major != 3 || free_threaded || !known || version.minor != layout.version.minor) {
        throw Error(ErrorKind::UnsupportedRuntime, "Python " + std::to_string(version.major) + "." +
                                                       std::to_string(version.minor) + (free_threaded ? "t" : "") +
                                                       " (" + hex(version_hex) + ") is not supported");
    }
    if (raw.size() < known->slots.size() * 8) throw bad_data("_Py_DebugOffsets is shorter than its layout");
    const PublishedOffsets published(*known, raw);
    PythonLayout out = layout;
    for (const FieldTarget& target : kFieldTargets) {
        const auto raw_value = published.value(target.name);
        if (!raw_value) continue;  // not published by this version: the table's value stands
        uint64_t value = published.checked(target, *raw_value);
        if (!target.relative_to.empty()) {
            // Both lie inside the section; the field, relative to its base, inside the
            // struct at the base (_gil_runtime_state, whose size the table knows).
            const auto base = published.value(target.relative_to);
            if (!base || value < *base) implausible(target.name, value, "below " + std::string(target.relative_to));
            const auto gil_size = static_cast<uint64_t>(layout.gil_size);  // every era sets it (required_fields.cpp)
            published.checked(FieldTarget{target.relative_to, nullptr, gil_size, kPointer, ""}, *base);
            value -= *base;
            if (gil_size)
                PublishedOffsets::check_span(target.name, value, target.width, target.alignment, gil_size,
                                             "_gil_runtime_state");
        }
        out.*(target.field) = static_cast<Offset>(value);
    }
    out.version = version;
    layout = out;
}

}  // namespace stackscope
