// _Py_DebugOffsets: a struct of uint64_t the 3.13+ runtime publishes at the start of
// _PyRuntime. Its own layout differs per minor version; each known layout is a list of
// (index of the uint64_t, layout field) pairs.
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "hex.hpp"
#include "version_tables.hpp"

namespace stackscope {

namespace {

struct RelativeField {
    size_t index;       // an offset from the start of an enclosing struct...
    size_t base_index;  // ...minus this one, the offset of the struct within it
    Offset PythonLayout::*field;
};

struct DebugOffsetsLayout {
    int minor;
    size_t total_size;  // bytes
    std::vector<std::pair<size_t, Offset PythonLayout::*>> fields;
    std::vector<RelativeField> relative_fields;
};

// Indices measured from CPython 3.13.0's Include/internal/pycore_runtime.h (584 bytes).
const DebugOffsetsLayout kLayout313{
    13,
    584,
    {
        {5, &PythonLayout::runtime_interpreters_head},
        {7, &PythonLayout::interp_id},
        {8, &PythonLayout::interp_next},
        {9, &PythonLayout::interp_threads_head},
        {11, &PythonLayout::interp_modules},
        {14, &PythonLayout::interp_gil},
        {21, &PythonLayout::tstate_next},
        {22, &PythonLayout::tstate_interp},
        {23, &PythonLayout::tstate_frame},
        {24, &PythonLayout::tstate_thread_id},
        {25, &PythonLayout::tstate_native_thread_id},
        {29, &PythonLayout::frame_previous},
        {30, &PythonLayout::frame_code},
        {31, &PythonLayout::frame_instruction},
        {32, &PythonLayout::frame_localsplus},
        {33, &PythonLayout::frame_owner},
        {35, &PythonLayout::code_filename},
        {36, &PythonLayout::code_name},
        {37, &PythonLayout::code_qualname},
        {38, &PythonLayout::code_linetable},
        {39, &PythonLayout::code_firstlineno},
        {40, &PythonLayout::code_argcount},
        {41, &PythonLayout::code_localsplusnames},
        {43, &PythonLayout::code_adaptive},
        {45, &PythonLayout::object_type},
        {47, &PythonLayout::type_name},
        {49, &PythonLayout::type_flags},
        {51, &PythonLayout::tuple_items},
        {57, &PythonLayout::dict_keys_ptr},
        {58, &PythonLayout::dict_values_ptr},
        {65, &PythonLayout::bytes_size},
        {66, &PythonLayout::bytes_data},
        {68, &PythonLayout::unicode_state},
        {69, &PythonLayout::unicode_length},
        {70, &PythonLayout::unicode_ascii_data},
    },
    // The GIL's locked/last_holder are published relative to PyInterpreterState (inside its
    // _gil); the reader follows ceval.gil, which may point at another interpreter's.
    {
        {17, 15, &PythonLayout::gil_locked},
        {18, 15, &PythonLayout::gil_last_holder},
    },
};

const DebugOffsetsLayout* debug_layout_for(int minor) {
    if (minor == 13) return &kLayout313;
    return nullptr;
}

// No offset in any struct the reader follows comes close to this.
constexpr uint64_t kMaxPlausibleOffset = 1 << 20;

uint64_t word(std::span<const uint8_t> raw, size_t index) {
    uint64_t v = 0;
    std::memcpy(&v, raw.data() + index * 8, 8);
    return v;
}

}  // namespace

void apply_debug_offsets(PythonLayout& layout, std::span<const uint8_t> raw) {
    if (raw.size() < 24 || std::memcmp(raw.data(), "xdebugpy", 8) != 0) {
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
    if (raw.size() < known->total_size) throw bad_data("_Py_DebugOffsets is shorter than its layout");
    for (const auto& [index, field] : known->fields) {
        const uint64_t value = word(raw, index);
        if (value >= kMaxPlausibleOffset) {
            throw bad_data("_Py_DebugOffsets field " + std::to_string(index) + " is implausible (" + hex(value) + ")");
        }
        layout.*field = static_cast<Offset>(value);
    }
    for (const RelativeField& r : known->relative_fields) {
        const uint64_t value = word(raw, r.index), base = word(raw, r.base_index);
        if (value < base || value - base >= kMaxPlausibleOffset) {
            throw bad_data("_Py_DebugOffsets field " + std::to_string(r.index) + " is implausible (" + hex(value) + ")");
        }
        layout.*(r.field) = static_cast<Offset>(value - base);
    }
    layout.version = version;
}

}  // namespace stackscope
