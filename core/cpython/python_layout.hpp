#pragma once
// Everything the reader knows about one CPython minor version: struct offsets and the
// behaviour enums the logic switches on. Logic never compares version numbers; a new
// CPython version is a new table (core/cpython/versions/), plus an enum value where behaviour changed.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace stackscope {

using Offset = int64_t;
inline constexpr Offset kAbsent = -1;

// sizeof(_Py_CODEUNIT): bytecode offsets and instruction pointers count in these, in every version.
inline constexpr int64_t kCodeUnitSize = 2;

struct PythonVersion {
    int major = 0, minor = 0, micro = -1;  // micro -1: unknown (taken from a file name)
    int release_level = 0xf;               // 0xa alpha, 0xb beta, 0xc rc, 0xf final
    int serial = 0;

    static PythonVersion from_hex(uint64_t hexversion);
    std::string str() const;  // "3.12.1", "3.14.0rc2", "3.10" when the micro version is unknown
};

// How the thread's newest frame is found.
enum class TopFrameSource {
    ThreadStateFrame,         // tstate->frame (PyFrameObject*), f_back chain (3.8-3.10)
    CFrameCurrentFrame,       // tstate->cframe->current_frame (3.11, 3.12)
    ThreadStateCurrentFrame,  // tstate->current_frame (3.13+)
};

// What the frame's instruction field means.
enum class InstructionPointer {
    LastiBytes,  // int f_lasti in bytes (3.8, 3.9)
    LastiUnits,  // int f_lasti in code units (3.10)
    PrevInstr,   // pointer to the last executed code unit (3.11, 3.12)
    NextInstr,   // pointer to the current instruction (3.13+)
};

enum class LineTableFormat { Lnotab, Pep626, Locations };

// How a frame's code reference is stored.
enum class CodeReference { Pointer, StackRef };

// How the first Python frame of each C-level eval-loop invocation is recognised.
enum class EntryFrameRule {
    EveryFrame,   // each Python call is its own _PyEval_EvalFrameDefault invocation (3.8-3.10)
    IsEntryFlag,  // _PyInterpreterFrame.is_entry (3.11)
    ShimFrames,   // an owner value marks the C-stack shim frame pushed before it (3.12+)
};

// Where the GIL's state lives.
enum class GilLocation {
    Runtime,             // embedded in _PyRuntime (3.8-3.11)
    InterpreterPointer,  // pointer in PyInterpreterState (3.12+)
};

enum class DictKeysFormat {
    Split310,  // dk_size/dk_nentries/indices @40, {hash,key,value} entries (3.8-3.10)
    Kinds311,  // dk_log2_size/dk_kind/indices @32 (3.11+)
};

enum class DictValuesFormat {
    PlainArray,     // PyObject *values[] (3.11, 3.12)
    PrefixedArray,  // 8-byte header, then values (3.13+)
};

enum class IntFormat {
    SignedSize,  // ob_size holds the signed digit count (3.8-3.11)
    LvTag,       // lv_tag: digit count << 3 | sign (3.12+)
};

// Where an instance's attribute dictionary lives.
enum class InstanceDictFormat {
    DictOffset,  // *(obj + tp_dictoffset) (3.8-3.10)
    Managed311,  // Py_TPFLAGS_MANAGED_DICT: dict at obj-24, else values at obj-32 with the type's cached keys
    Managed312,  // obj-24 holds a dict, or values+1 tagged with bit 0
    Managed313,  // obj-24 holds a dict, else inline values at obj+tp_basicsize (Py_TPFLAGS_INLINE_VALUES)
};

// How a frame's display name ("Class.method") is found.
enum class FunctionNameSource {
    CodeQualname,        // co_qualname (3.11+)
    SelfOrClsHeuristic,  // co_name, prefixed with the class of a first argument named self or cls (3.8-3.10)
};

// Where a thread's kernel id comes from.
enum class ThreadIdSource {
    PthreadDescriptor,  // only pthread_t is recorded: the tid is glibc's, from its struct pthread (3.8-3.10)
    NativeThreadId,     // PyThreadState.native_thread_id (3.11+)
};

// What an _PyErr_StackItem (a thread's or generator's handled exception) holds.
enum class ExceptionStateFormat {
    TypeValueTraceback,  // exc_type, exc_value, exc_traceback (3.8-3.10)
    ValueOnly,           // exc_value (3.11+)
};

// How a code object names its variables.
enum class CodeVariablesFormat {
    Separate,    // co_varnames, co_cellvars, co_freevars and co_nlocals (3.8-3.10)
    LocalsPlus,  // co_localsplusnames with kinds, co_nlocalsplus (3.11+)
};

// Where the garbage collector's state lives.
enum class GcStateLocation {
    Runtime,      // one _gc_runtime_state in _PyRuntime (3.8)
    Interpreter,  // one per interpreter (3.9+)
};

struct PythonLayout {
    PythonVersion version;

    // Behaviour.
    TopFrameSource top_frame = TopFrameSource::ThreadStateFrame;
    InstructionPointer instruction = InstructionPointer::PrevInstr;
    LineTableFormat line_table = LineTableFormat::Locations;
    CodeReference code_reference = CodeReference::Pointer;
    EntryFrameRule entry_rule = EntryFrameRule::ShimFrames;
    GilLocation gil_location = GilLocation::Runtime;
    DictKeysFormat dict_keys = DictKeysFormat::Kinds311;
    DictValuesFormat dict_values = DictValuesFormat::PlainArray;
    IntFormat int_format = IntFormat::LvTag;
    InstanceDictFormat instance_dict = InstanceDictFormat::Managed313;
    FunctionNameSource function_name = FunctionNameSource::CodeQualname;
    ThreadIdSource thread_id = ThreadIdSource::NativeThreadId;
    ExceptionStateFormat exception_state = ExceptionStateFormat::ValueOnly;
    CodeVariablesFormat code_variables = CodeVariablesFormat::LocalsPlus;
    GcStateLocation gc_location = GcStateLocation::Interpreter;
    bool has_debug_offsets = false;  // _PyRuntime starts with _Py_DebugOffsets (3.13+)
    int shim_owner = -1;             // frame owner values at or above this are not Python frames
    uint64_t stackref_tag_mask = 0;  // low bits of a _PyStackRef that are tags, not address (CodeReference::StackRef)

    // _PyRuntimeState
    Offset runtime_interpreters_head = kAbsent;
    Offset runtime_gil = kAbsent;         // embedded _gil_runtime_state (GilLocation::Runtime)
    Offset runtime_finalizing = kAbsent;  // the PyThreadState* finalizing the runtime, or NULL
    Offset runtime_gc = kAbsent;          // embedded _gc_runtime_state, when one serves the runtime (3.8)

    // PyInterpreterState
    Offset interp_next = kAbsent;
    Offset interp_id = kAbsent;
    Offset interp_threads_head = kAbsent;
    Offset interp_modules = kAbsent;
    Offset interp_gil = kAbsent;      // pointer to _gil_runtime_state (GilLocation::InterpreterPointer)
    Offset interp_sysdict = kAbsent;  // the sys module's dict, for sys.hexversion
    Offset interp_gc = kAbsent;       // embedded _gc_runtime_state, when each interpreter has one (3.9+)

    // _gc_runtime_state
    Offset gc_collecting = kAbsent;  // int: a collection is running

    // _gil_runtime_state
    Offset gil_locked = kAbsent;
    Offset gil_last_holder = kAbsent;
    Offset gil_size = kAbsent;  // sizeof: a futex inside it (cond, mutex) is a wait for the GIL

    // PyThreadState
    Offset tstate_next = kAbsent;
    Offset tstate_interp = kAbsent;
    Offset tstate_frame = kAbsent;  // frame, cframe or current_frame, per top_frame
    Offset cframe_current_frame = kAbsent;
    Offset tstate_thread_id = kAbsent;
    Offset tstate_native_thread_id = kAbsent;
    Offset tstate_exc_info = kAbsent;  // _PyErr_StackItem*: the innermost exception being handled

    // _PyErr_StackItem
    Offset err_item_type = kAbsent;  // exc_type (3.8-3.10; later only the value is kept)
    Offset err_item_value = kAbsent;
    Offset err_item_previous = kAbsent;

    // _PyInterpreterFrame (3.11+) / PyFrameObject (3.8-3.10)
    Offset frame_code = kAbsent;
    Offset frame_previous = kAbsent;
    Offset frame_globals = kAbsent;
    Offset frame_instruction = kAbsent;  // prev_instr / instr_ptr / f_lasti
    Offset frame_owner = kAbsent;
    Offset frame_is_entry = kAbsent;
    Offset frame_localsplus = kAbsent;

    // PyCodeObject
    Offset code_filename = kAbsent;
    Offset code_name = kAbsent;
    Offset code_qualname = kAbsent;
    Offset code_firstlineno = kAbsent;
    Offset code_linetable = kAbsent;
    Offset code_exceptiontable = kAbsent;
    Offset code_adaptive = kAbsent;  // inline bytecode (3.11+)
    Offset code_nlocalsplus = kAbsent;
    Offset code_argcount = kAbsent;
    Offset code_localsplusnames = kAbsent;
    Offset code_nlocals = kAbsent;  // 3.8-3.10: locals, then cells, in f_localsplus
    Offset code_varnames = kAbsent;
    Offset code_cellvars = kAbsent;

    // Objects (set for every version by versions/object_layout.cpp, then per version)
    Offset object_type = kAbsent;
    Offset var_size = kAbsent;
    Offset type_name = kAbsent;
    Offset type_flags = kAbsent;
    Offset type_basicsize = kAbsent;
    Offset type_dictoffset = kAbsent;
    uint64_t type_flag_managed_dict = 0;                       // Py_TPFLAGS_MANAGED_DICT
    uint64_t type_flag_inline_values = 0;                      // Py_TPFLAGS_INLINE_VALUES
    Offset heap_type_cached_keys = kAbsent;                    // PyHeapTypeObject.ht_cached_keys
    Offset heap_type_qualname = kAbsent;                       // PyHeapTypeObject.ht_qualname
    uint64_t type_flag_heap_type = uint64_t{1} << 9;           // Py_TPFLAGS_HEAPTYPE
    uint64_t type_flag_type_subclass = uint64_t{1} << 31;      // Py_TPFLAGS_TYPE_SUBCLASS
    uint64_t type_flag_base_exc_subclass = uint64_t{1} << 30;  // Py_TPFLAGS_BASE_EXC_SUBCLASS
    Offset cell_ref = kAbsent;                                 // PyCellObject.ob_ref
    Offset exception_args = kAbsent;                           // PyBaseExceptionObject.args
    Offset managed_dict = kAbsent;                             // relative to the object (negative: the pre-header)
    Offset managed_values = kAbsent;                           // 3.11: values pointer in the pre-header
    Offset module_dict = kAbsent;
    Offset long_digits = kAbsent;
    Offset tuple_items = kAbsent;
    Offset bytes_size = kAbsent;
    Offset bytes_data = kAbsent;
    Offset unicode_length = kAbsent;
    Offset unicode_state = kAbsent;
    Offset unicode_ascii_data = kAbsent;    // sizeof(PyASCIIObject)
    Offset unicode_compact_data = kAbsent;  // sizeof(PyCompactUnicodeObject); also PyUnicodeObject.data
    Offset dict_keys_ptr = kAbsent;
    Offset dict_values_ptr = kAbsent;
};

// The fields a layout's era needs (by its behaviour enums) that it leaves at kAbsent: a
// table (or a runtime's debug offsets) missing any of them would be read wrongly. Names are
// the PythonLayout members'. Empty for every supported version (tests/unit/test_layouts.cpp).
std::vector<std::string> missing_fields(const PythonLayout& layout);

// The table for a CPython minor version, or nullopt when it is unsupported.
std::optional<PythonLayout> layout_for(int major, int minor);
// Every version this build knows, oldest first.
std::vector<PythonLayout> all_layouts();

// Overlays the offsets a 3.13+ runtime publishes in _Py_DebugOffsets (raw bytes read from
// the start of _PyRuntime) onto `layout`. Throws Error(NotPython) for a layout it does not
// know or a free-threaded build, and bad_data for implausible values.
void apply_debug_offsets(PythonLayout& layout, std::span<const uint8_t> debug_offsets);

// Bytes of _Py_DebugOffsets to read for a given version (enough for every known layout).
inline constexpr size_t kDebugOffsetsReadSize = 1024;

}  // namespace stackscope
