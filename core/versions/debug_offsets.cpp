// _Py_DebugOffsets: a struct of uint64_t the 3.13+ runtime publishes at the start of
// _PyRuntime. Its own layout differs per minor version (fields are inserted mid-struct), so
// each known layout is the ordered list of its fields' names, copied from that version's
// Include/internal/pycore_debug_offsets.h; one table maps names onto PythonLayout.
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "hex.hpp"
#include "debug_offsets.hpp"
#include "version_tables.hpp"

namespace stackscope {

namespace {

struct DebugOffsetsLayout {
    int minor;
    std::vector<std::string_view> slots;  // one name per uint64_t, in order
};

const DebugOffsetsLayout kLayout313{
    13,
    {
        "cookie", "version", "free_threaded",
        "runtime_state.size", "runtime_state.finalizing", "runtime_state.interpreters_head",
        "interpreter_state.size", "interpreter_state.id", "interpreter_state.next", "interpreter_state.threads_head",
        "interpreter_state.gc", "interpreter_state.imports_modules", "interpreter_state.sysdict",
        "interpreter_state.builtins", "interpreter_state.ceval_gil", "interpreter_state.gil_runtime_state",
        "interpreter_state.gil_runtime_state_enabled", "interpreter_state.gil_runtime_state_locked",
        "interpreter_state.gil_runtime_state_holder",
        "thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
        "thread_state.current_frame", "thread_state.thread_id", "thread_state.native_thread_id",
        "thread_state.datastack_chunk", "thread_state.status",
        "interpreter_frame.size", "interpreter_frame.previous", "interpreter_frame.executable",
        "interpreter_frame.instr_ptr", "interpreter_frame.localsplus", "interpreter_frame.owner",
        "code_object.size", "code_object.filename", "code_object.name", "code_object.qualname",
        "code_object.linetable", "code_object.firstlineno", "code_object.argcount", "code_object.localsplusnames",
        "code_object.localspluskinds", "code_object.co_code_adaptive",
        "pyobject.size", "pyobject.ob_type",
        "type_object.size", "type_object.tp_name", "type_object.tp_repr", "type_object.tp_flags",
        "tuple_object.size", "tuple_object.ob_item", "tuple_object.ob_size",
        "list_object.size", "list_object.ob_item", "list_object.ob_size",
        "dict_object.size", "dict_object.ma_keys", "dict_object.ma_values",
        "float_object.size", "float_object.ob_fval",
        "long_object.size", "long_object.lv_tag", "long_object.ob_digit",
        "bytes_object.size", "bytes_object.ob_size", "bytes_object.ob_sval",
        "unicode_object.size", "unicode_object.state", "unicode_object.length", "unicode_object.asciiobject_size",
        "gc.size", "gc.collecting",
    },
};

// 3.14.10 (760 bytes): threads_main, the generation counters, stackpointer, tlbc, set,
// generator, llist and PEP 768 debugger fields were added.
const DebugOffsetsLayout kLayout314{
    14,
    {
        "cookie", "version", "free_threaded",
        "runtime_state.size", "runtime_state.finalizing", "runtime_state.interpreters_head",
        "interpreter_state.size", "interpreter_state.id", "interpreter_state.next", "interpreter_state.threads_head",
        "interpreter_state.threads_main", "interpreter_state.gc", "interpreter_state.imports_modules",
        "interpreter_state.sysdict", "interpreter_state.builtins", "interpreter_state.ceval_gil",
        "interpreter_state.gil_runtime_state", "interpreter_state.gil_runtime_state_enabled",
        "interpreter_state.gil_runtime_state_locked", "interpreter_state.gil_runtime_state_holder",
        "interpreter_state.code_object_generation", "interpreter_state.tlbc_generation",
        "thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
        "thread_state.current_frame", "thread_state.thread_id", "thread_state.native_thread_id",
        "thread_state.datastack_chunk", "thread_state.status",
        "interpreter_frame.size", "interpreter_frame.previous", "interpreter_frame.executable",
        "interpreter_frame.instr_ptr", "interpreter_frame.localsplus", "interpreter_frame.owner",
        "interpreter_frame.stackpointer", "interpreter_frame.tlbc_index",
        "code_object.size", "code_object.filename", "code_object.name", "code_object.qualname",
        "code_object.linetable", "code_object.firstlineno", "code_object.argcount", "code_object.localsplusnames",
        "code_object.localspluskinds", "code_object.co_code_adaptive", "code_object.co_tlbc",
        "pyobject.size", "pyobject.ob_type",
        "type_object.size", "type_object.tp_name", "type_object.tp_repr", "type_object.tp_flags",
        "tuple_object.size", "tuple_object.ob_item", "tuple_object.ob_size",
        "list_object.size", "list_object.ob_item", "list_object.ob_size",
        "set_object.size", "set_object.used", "set_object.table", "set_object.mask",
        "dict_object.size", "dict_object.ma_keys", "dict_object.ma_values",
        "float_object.size", "float_object.ob_fval",
        "long_object.size", "long_object.lv_tag", "long_object.ob_digit",
        "bytes_object.size", "bytes_object.ob_size", "bytes_object.ob_sval",
        "unicode_object.size", "unicode_object.state", "unicode_object.length", "unicode_object.asciiobject_size",
        "gc.size", "gc.collecting",
        "gen_object.size", "gen_object.gi_name", "gen_object.gi_iframe", "gen_object.gi_frame_state",
        "llist_node.next", "llist_node.prev",
        "debugger_support.eval_breaker", "debugger_support.remote_debugger_support",
        "debugger_support.remote_debugging_enabled", "debugger_support.debugger_pending_call",
        "debugger_support.debugger_script_path", "debugger_support.debugger_script_path_size",
    },
};

// 3.15.2 (888 bytes): more thread-state fields, err_stackitem, tp_basicsize/tp_dictoffset,
// heap_type_object, compactunicodeobject_size and gc fields were inserted.
const DebugOffsetsLayout kLayout315{
    15,
    {
        "cookie", "version", "free_threaded",
        "runtime_state.size", "runtime_state.finalizing", "runtime_state.interpreters_head",
        "interpreter_state.size", "interpreter_state.id", "interpreter_state.next", "interpreter_state.threads_head",
        "interpreter_state.threads_main", "interpreter_state.gc", "interpreter_state.imports_modules",
        "interpreter_state.sysdict", "interpreter_state.builtins", "interpreter_state.ceval_gil",
        "interpreter_state.gil_runtime_state", "interpreter_state.gil_runtime_state_enabled",
        "interpreter_state.gil_runtime_state_locked", "interpreter_state.gil_runtime_state_holder",
        "interpreter_state.code_object_generation", "interpreter_state.tlbc_generation",
        "thread_state.size", "thread_state.prev", "thread_state.next", "thread_state.interp",
        "thread_state.current_frame", "thread_state.base_frame", "thread_state.last_profiled_frame",
        "thread_state.last_profiled_frame_seq", "thread_state.thread_id", "thread_state.native_thread_id",
        "thread_state.datastack_chunk", "thread_state.status", "thread_state.holds_gil",
        "thread_state.gil_requested", "thread_state.current_exception", "thread_state.exc_state",
        "err_stackitem.exc_value",
        "interpreter_frame.size", "interpreter_frame.previous", "interpreter_frame.executable",
        "interpreter_frame.instr_ptr", "interpreter_frame.localsplus", "interpreter_frame.owner",
        "interpreter_frame.stackpointer", "interpreter_frame.tlbc_index",
        "code_object.size", "code_object.filename", "code_object.name", "code_object.qualname",
        "code_object.linetable", "code_object.firstlineno", "code_object.argcount", "code_object.localsplusnames",
        "code_object.localspluskinds", "code_object.co_code_adaptive", "code_object.co_tlbc",
        "pyobject.size", "pyobject.ob_type",
        "type_object.size", "type_object.tp_name", "type_object.tp_repr", "type_object.tp_flags",
        "type_object.tp_basicsize", "type_object.tp_dictoffset",
        "heap_type_object.size", "heap_type_object.ht_cached_keys",
        "tuple_object.size", "tuple_object.ob_item", "tuple_object.ob_size",
        "list_object.size", "list_object.ob_item", "list_object.ob_size",
        "set_object.size", "set_object.used", "set_object.table", "set_object.mask",
        "dict_object.size", "dict_object.ma_keys", "dict_object.ma_values",
        "float_object.size", "float_object.ob_fval",
        "long_object.size", "long_object.lv_tag", "long_object.ob_digit",
        "bytes_object.size", "bytes_object.ob_size", "bytes_object.ob_sval",
        "unicode_object.size", "unicode_object.state", "unicode_object.length", "unicode_object.asciiobject_size",
        "unicode_object.compactunicodeobject_size",
        "gc.size", "gc.collecting", "gc.frame", "gc.generation_stats_size", "gc.generation_stats",
        "gen_object.size", "gen_object.gi_name", "gen_object.gi_iframe", "gen_object.gi_frame_state",
        "llist_node.next", "llist_node.prev",
        "debugger_support.eval_breaker", "debugger_support.remote_debugger_support",
        "debugger_support.remote_debugging_enabled", "debugger_support.debugger_pending_call",
        "debugger_support.debugger_script_path", "debugger_support.debugger_script_path_size",
    },
};

// The published fields the reader uses, and where they go.
struct FieldTarget {
    std::string_view name;
    Offset PythonLayout::*field;
    std::string_view relative_to;  // "" or the field whose value is subtracted
};

const FieldTarget kFieldTargets[] = {
    {"runtime_state.interpreters_head", &PythonLayout::runtime_interpreters_head, ""},
    {"runtime_state.finalizing", &PythonLayout::runtime_finalizing, ""},
    {"interpreter_state.gc", &PythonLayout::interp_gc, ""},
    {"gc.collecting", &PythonLayout::gc_collecting, ""},
    {"interpreter_state.id", &PythonLayout::interp_id, ""},
    {"interpreter_state.next", &PythonLayout::interp_next, ""},
    {"interpreter_state.threads_head", &PythonLayout::interp_threads_head, ""},
    {"interpreter_state.imports_modules", &PythonLayout::interp_modules, ""},
    {"interpreter_state.sysdict", &PythonLayout::interp_sysdict, ""},
    {"interpreter_state.ceval_gil", &PythonLayout::interp_gil, ""},
    // Published relative to PyInterpreterState (inside its own _gil); the reader follows
    // ceval.gil, which may point at another interpreter's.
    {"interpreter_state.gil_runtime_state_locked", &PythonLayout::gil_locked, "interpreter_state.gil_runtime_state"},
    {"interpreter_state.gil_runtime_state_holder", &PythonLayout::gil_last_holder, "interpreter_state.gil_runtime_state"},
    {"thread_state.next", &PythonLayout::tstate_next, ""},
    {"thread_state.interp", &PythonLayout::tstate_interp, ""},
    {"thread_state.current_frame", &PythonLayout::tstate_frame, ""},
    {"thread_state.thread_id", &PythonLayout::tstate_thread_id, ""},
    {"thread_state.native_thread_id", &PythonLayout::tstate_native_thread_id, ""},
    {"interpreter_frame.previous", &PythonLayout::frame_previous, ""},
    {"interpreter_frame.executable", &PythonLayout::frame_code, ""},
    {"interpreter_frame.instr_ptr", &PythonLayout::frame_instruction, ""},
    {"interpreter_frame.localsplus", &PythonLayout::frame_localsplus, ""},
    {"interpreter_frame.owner", &PythonLayout::frame_owner, ""},
    {"code_object.filename", &PythonLayout::code_filename, ""},
    {"code_object.name", &PythonLayout::code_name, ""},
    {"code_object.qualname", &PythonLayout::code_qualname, ""},
    {"code_object.linetable", &PythonLayout::code_linetable, ""},
    {"code_object.firstlineno", &PythonLayout::code_firstlineno, ""},
    {"code_object.argcount", &PythonLayout::code_argcount, ""},
    {"code_object.localsplusnames", &PythonLayout::code_localsplusnames, ""},
    {"code_object.co_code_adaptive", &PythonLayout::code_adaptive, ""},
    {"pyobject.ob_type", &PythonLayout::object_type, ""},
    {"type_object.tp_name", &PythonLayout::type_name, ""},
    {"type_object.tp_flags", &PythonLayout::type_flags, ""},
    {"type_object.tp_basicsize", &PythonLayout::type_basicsize, ""},
    {"type_object.tp_dictoffset", &PythonLayout::type_dictoffset, ""},
    {"heap_type_object.ht_cached_keys", &PythonLayout::heap_type_cached_keys, ""},
    {"tuple_object.ob_item", &PythonLayout::tuple_items, ""},
    {"dict_object.ma_keys", &PythonLayout::dict_keys_ptr, ""},
    {"dict_object.ma_values", &PythonLayout::dict_values_ptr, ""},
    {"long_object.ob_digit", &PythonLayout::long_digits, ""},
    {"bytes_object.ob_size", &PythonLayout::bytes_size, ""},
    {"bytes_object.ob_sval", &PythonLayout::bytes_data, ""},
    {"unicode_object.state", &PythonLayout::unicode_state, ""},
    {"unicode_object.length", &PythonLayout::unicode_length, ""},
    {"unicode_object.asciiobject_size", &PythonLayout::unicode_ascii_data, ""},
    {"unicode_object.compactunicodeobject_size", &PythonLayout::unicode_compact_data, ""},
};

const DebugOffsetsLayout* debug_layout_for(int minor) {
    for (const DebugOffsetsLayout* known : {&kLayout313, &kLayout314, &kLayout315}) {
        if (known->minor == minor) return known;
    }
    return nullptr;
}

// No offset in any struct the reader follows comes close to this.
constexpr uint64_t kMaxPlausibleOffset = 1 << 20;

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

}  // namespace

void apply_debug_offsets(PythonLayout& layout, std::span<const uint8_t> raw) {
    if (raw.size() < 24 || !starts_with_debug_offsets_cookie(raw)) {
        throw Error(ErrorKind::NotPython, "_PyRuntime does not start with the _Py_DebugOffsets cookie");
    }
    const uint64_t version_hex = word(raw, 1);
    const PythonVersion version = PythonVersion::from_hex(version_hex);
    const bool free_threaded = word(raw, 2) != 0;
    const DebugOffsetsLayout* known = debug_layout_for(version.minor);
    if (version.major != 3 || free_threaded || !known || version.minor != layout.version.minor) {
        throw Error(ErrorKind::NotPython, "Python " + std::to_string(version.major) + "." + std::to_string(version.minor) +
                                              (free_threaded ? "t" : "") + " (" + hex(version_hex) + ") is not supported");
    }
    if (raw.size() < known->slots.size() * 8) throw bad_data("_Py_DebugOffsets is shorter than its layout");
    for (const FieldTarget& target : kFieldTargets) {
        const auto slot = slot_of(*known, target.name);
        if (!slot) continue;  // not published by this version: the table's value stands
        uint64_t value = word(raw, *slot);
        if (!target.relative_to.empty()) {
            const auto base_slot = slot_of(*known, target.relative_to);
            const uint64_t base = base_slot ? word(raw, *base_slot) : 0;
            if (!base_slot || value < base) {
                throw bad_data("_Py_DebugOffsets field " + std::string(target.name) + " is implausible (" + hex(value) + ")");
            }
            value -= base;
        }
        if (value >= kMaxPlausibleOffset) {
            throw bad_data("_Py_DebugOffsets field " + std::string(target.name) + " is implausible (" + hex(value) + ")");
        }
        layout.*(target.field) = static_cast<Offset>(value);
    }
    layout.version = version;
}

}  // namespace stackscope
