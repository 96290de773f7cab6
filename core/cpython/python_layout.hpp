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

// How a generator (coroutine, async generator) holds its frame.
enum class GeneratorFrameFormat {
    FramePointer,  // gi_frame: a PyFrameObject*, NULL once finished (3.8-3.10)
    Embedded,      // gi_iframe: the _PyInterpreterFrame inside the generator (3.11+)
};

// Where a generator's state (not started, suspended, running, finished) is read.
enum class GeneratorStateSource {
    RunningFlag,  // gi_running; not started while f_lasti is -1; finished when gi_frame is NULL (3.8, 3.9)
    FrameState,   // the frame's f_state; finished when gi_frame is NULL (3.10)
    GenState,     // gi_frame_state (3.11+)
};

// How a suspended generator's awaited object (CPython's _PyGen_yf) is recognised.
enum class YieldFromRule {
    NextOpcode,          // the instruction after f_lasti is YIELD_FROM (3.8-3.10)
    ResumeOparg,         // the unit after prev_instr is a RESUME whose oparg is 2 or more (3.11, 3.12)
    SuspendedYieldFrom,  // gi_frame_state is FRAME_SUSPENDED_YIELD_FROM (3.13+)
};

// Where the top of a suspended frame's value stack is.
enum class ValueStackTop {
    TopPointer,       // PyObject **f_stacktop (3.8, 3.9)
    Depth,            // f_valuestack + int f_stackdepth (3.10)
    LocalsPlusIndex,  // int stacktop, counted in localsplus slots (3.11-3.13)
    StackPointer,     // _PyStackRef *stackpointer (3.14+)
};

// Where a frame's active `with` blocks are found.
enum class WithBlockSource {
    BlockStack,    // SETUP_FINALLY entries of f_blockstack whose handler is a with-cleanup (3.8-3.10)
    HandlerChain,  // exception-table handlers followed out from the current instruction (3.11+)
};

// What a `with` block keeps on the value stack below its handler's depth.
enum class WithExitSlots {
    BoundExit,        // one slot: the bound __exit__ / __aexit__ (3.8-3.13)
    CallableAndSelf,  // two slots: the __exit__ callable, then self or NULL (3.14+)
};

// How sys.monitoring keeps the original opcode of an instruction it replaced with
// INSTRUMENTED_LINE (_PyCoMonitoringData.lines).
enum class MonitoringLinesFormat {
    None,           // no sys.monitoring (3.8-3.11)
    Pairs,          // {uint8 original_opcode; int8 line_delta} per code unit (3.12, early 3.13)
    BytesPerEntry,  // a byte giving the entry size, then entries that start with the opcode (3.14+, later 3.13)
    Either,         // told apart by the first byte: always 0 in Pairs, the entry size (2-5) otherwise (3.13)
};

// The Unicode database of a version's unicodedata (and str.isprintable, so str.__repr__).
enum class UnicodeDatabase { V12_1, V13_0, V14_0, V15_0, V15_1, V16_0, V17_0 };

// A _thread.lock as one build lays it out, told apart by its type's tp_basicsize: 3.13 moved
// from `char locked` (3.13.0) to a PyMutex within the minor version.
// A thread blocked acquiring one sleeps in a futex wait: on the sem_t its PyThread_type_lock
// points to (`semaphore`: 3.8-3.13.0), or on its own parking-lot semaphore, whose wait entry
// names the PyMutex it waits for (`parks`: the state byte is that PyMutex).
struct LockLayout {
    int64_t basic_size = 0;
    Offset state = kAbsent;  // the byte that says it is held
    uint8_t locked_mask = 0;
    Offset semaphore = kAbsent;  // lock_lock: a sem_t*
    bool parks = false;
};

// A _thread.RLock likewise: an owner and count (3.8-3.13), or a _PyRecursiveMutex (3.14+)
// whose level counts the acquisitions after the first.
struct RLockLayout {
    int64_t basic_size = 0;
    Offset owner = kAbsent;
    Offset count = kAbsent;       // rlock_count, or the mutex's level
    Offset mutex = kAbsent;       // PyMutex byte (kAbsent: held while count > 0)
    uint8_t locked_mask = 0;      // of the mutex byte
    bool count_is_level = false;  // count = level + 1 while held, else 0
    Offset semaphore = kAbsent;   // rlock_lock: a sem_t* its waiters futex-wait on (else they park on `mutex`)
};

// A BaseExceptionGroup as one build lays it out, told apart by the type's tp_basicsize: later
// 3.13 releases and 3.14+ added excs_str and a repr of their own (before: BaseException's).
struct ExceptionGroupLayout {
    int64_t basic_size = 0;
    bool own_repr = false;             // "Name(msg, excs)" from the fields below, not from args
    Offset message = kAbsent;          // msg
    Offset exceptions = kAbsent;       // excs: a tuple
    Offset exceptions_text = kAbsent;  // excs_str: the repr kept for a sequence neither list nor tuple, or NULL
};

// The numeric generator states of one version (gi_frame_state, or 3.10's f_state).
struct GeneratorStates {
    int created = -2;
    int suspended = -1;
    int suspended_yield_from = -100;         // none before 3.13
    int suspended_yield_from_locked = -100;  // 3.15: held by a thread that examines it
    int executing = 0;
    int completed = 1;  // this or above: finished
};

// Where a thread's running asyncio loop is kept.
enum class RunningLoopSource {
    ThreadStateDict,  // the thread-state dict's __asyncio_running_event_loop__ (to 3.12)
    ThreadStateImpl,  // _PyThreadStateImpl.asyncio_running_loop, just after the PyThreadState (3.13)
    AsyncioDebug,     // where the .AsyncioDebug section says (3.14+)
};

// What keeps a Future's repr from showing itself again (a Future whose result holds it).
enum class FutureReprGuard {
    Result,  // base_futures._future_repr_info: a result being shown is `...` (to 3.10)
    Whole,   // reprlib.recursive_repr on _future_repr and _task_repr: the whole repr is `...` (3.11+)
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
    bool has_debug_offsets = false;     // _PyRuntime starts with _Py_DebugOffsets (3.13+)
    bool debug_build_measured = false;  // the Py_DEBUG build reads with these tables (measured, tested)
    int shim_owner = -1;                // frame owner values at or above this are not Python frames
    int generator_owner = 1;            // FRAME_OWNED_BY_GENERATOR: a generator's embedded frame
    uint64_t stackref_tag_mask = 0;  // low bits of a _PyStackRef that are tags, not address (CodeReference::StackRef)
    GeneratorFrameFormat generator_frame = GeneratorFrameFormat::Embedded;
    GeneratorStateSource generator_state = GeneratorStateSource::GenState;
    YieldFromRule yield_from = YieldFromRule::SuspendedYieldFrom;
    ValueStackTop value_stack_top = ValueStackTop::StackPointer;
    GeneratorStates generator_states;
    int opcode_yield_from = -1;       // YIELD_FROM (YieldFromRule::NextOpcode)
    std::vector<int> opcodes_resume;  // RESUME and its specialised/instrumented forms (ResumeOparg)
    int awaited_stack_slot = 1;       // the awaited object's value-stack slot, counted from the top
    WithBlockSource with_blocks = WithBlockSource::HandlerChain;
    WithExitSlots with_exit_slots = WithExitSlots::CallableAndSelf;
    bool with_lines_are_items = true;  // a with-block's instructions carry its item's line, not the statement's (3.13+)
    int exit_await_oparg = 2;          // GET_AWAITABLE's oparg after __aexit__ (3.11+), -1 where it has none
    int exit_call_oparg = 3;           // the oparg of the CALL / CALL_FUNCTION that calls __exit__(None, None, None)
    int load_global_name_shift = 1;    // LOAD_GLOBAL's co_names index is oparg >> this (3.11+: 1)
    int load_attr_name_shift = 1;      // LOAD_ATTR's likewise (3.12+: 1)

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
    Offset tstate_size = kAbsent;      // sizeof(PyThreadState), from the debug offsets (3.13+)

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
    Offset frame_stack_top = kAbsent;   // f_stacktop, f_stackdepth, stacktop or stackpointer (value_stack_top)
    Offset frame_valuestack = kAbsent;  // f_valuestack (ValueStackTop::Depth)
    Offset frame_state = kAbsent;       // f_state (GeneratorStateSource::FrameState)
    Offset frame_locals = kAbsent;      // the locals dict of a frame whose code keeps none in fast slots
    Offset frame_iblock = kAbsent;      // int f_iblock (WithBlockSource::BlockStack)
    Offset frame_blockstack = kAbsent;  // PyTryBlock f_blockstack[CO_MAXBLOCKS] (WithBlockSource::BlockStack)
    int frame_max_blocks = 20;          // CO_MAXBLOCKS

    // PyTryBlock {int b_type; int b_handler; int b_level;}
    Offset try_block_size = kAbsent;
    Offset try_block_type = kAbsent;
    Offset try_block_handler = kAbsent;  // bytes (3.8, 3.9) or code units (3.10), as jumps count
    Offset try_block_level = kAbsent;

    // PyGenObject (PyCoroObject, PyAsyncGenObject share its head)
    Offset gen_frame = kAbsent;        // gi_frame pointer or embedded gi_iframe (generator_frame)
    Offset gen_running = kAbsent;      // char gi_running (GeneratorStateSource::RunningFlag)
    Offset gen_frame_state = kAbsent;  // int8 gi_frame_state (GeneratorStateSource::GenState)
    Offset gen_qualname = kAbsent;
    // gi_code, to 3.11; from 3.12 the embedded frame keeps the code after the generator finished.
    Offset gen_code = kAbsent;
    // The object wrapped by async_generator_asend / athrow, coroutine_wrapper and asyncio's
    // FutureIter: the first field after the object header in each.
    Offset wrapper_target = kAbsent;

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
    Offset code_stacksize = kAbsent;  // co_stacksize: the value stack's slots, after the frame's variables
    Offset code_localsplusnames = kAbsent;
    Offset code_nlocals = kAbsent;  // 3.8-3.10: locals, then cells, in f_localsplus
    Offset code_kwonlyargcount = kAbsent;
    Offset code_localspluskinds = kAbsent;  // bytes: one CO_FAST_* kind per localsplus slot (LocalsPlus)
    Offset code_varnames = kAbsent;
    Offset code_cellvars = kAbsent;
    Offset code_flags = kAbsent;
    uint32_t code_flag_optimized = 0x1;    // CO_OPTIMIZED: the locals are fast slots, not a dict
    uint32_t code_flag_varargs = 0x4;      // CO_VARARGS: a *args slot follows the named arguments
    uint32_t code_flag_varkeywords = 0x8;  // CO_VARKEYWORDS: a **kwargs slot follows
    // co_localspluskinds bits (LocalsPlus): the slot holds a cell (CO_FAST_CELL) or a free
    // variable's cell (CO_FAST_FREE); CO_FAST_HIDDEN (3.12+, 0: none before) marks an inlined
    // comprehension's variable in a module or class body, which locals() leaves out.
    uint8_t local_kind_cell = 0x40;
    uint8_t local_kind_free = 0x80;
    uint8_t local_kind_hidden = 0;
    Offset code_bytecode = kAbsent;  // co_code, a bytes object (3.8-3.10)
    Offset code_consts = kAbsent;
    Offset code_names = kAbsent;
    Offset code_freevars = kAbsent;    // 3.8-3.10: STORE_DEREF numbers cells, then free variables
    Offset code_monitoring = kAbsent;  // _PyCoMonitoringData* _co_monitoring (3.12+)
    Offset code_executors = kAbsent;   // _PyExecutorArray* co_executors (3.13+)

    // _PyCoMonitoringData, _PyExecutorArray, _PyExecutorObject
    MonitoringLinesFormat monitoring_lines_format = MonitoringLinesFormat::None;
    Offset monitoring_lines = kAbsent;
    Offset monitoring_per_instruction_opcodes = kAbsent;
    Offset executor_array_items = kAbsent;  // executors[]
    Offset executor_opcode = kAbsent;       // vm_data.opcode: the (specialised) opcode ENTER_EXECUTOR replaced
    Offset executor_oparg = kAbsent;

    // Objects (set for every version by versions/object_layout.cpp, then per version)
    Offset object_type = kAbsent;
    Offset var_size = kAbsent;
    Offset type_name = kAbsent;
    Offset type_flags = kAbsent;
    Offset type_basicsize = kAbsent;
    Offset type_dictoffset = kAbsent;
    Offset type_dict = kAbsent;                                // tp_dict
    Offset type_mro = kAbsent;                                 // tp_mro, a tuple
    uint64_t type_flag_managed_dict = 0;                       // Py_TPFLAGS_MANAGED_DICT
    uint64_t type_flag_inline_values = 0;                      // Py_TPFLAGS_INLINE_VALUES
    Offset heap_type_cached_keys = kAbsent;                    // PyHeapTypeObject.ht_cached_keys
    Offset heap_type_qualname = kAbsent;                       // PyHeapTypeObject.ht_qualname
    Offset heap_type_name = kAbsent;                           // PyHeapTypeObject.ht_name (__name__)
    uint64_t type_flag_heap_type = uint64_t{1} << 9;           // Py_TPFLAGS_HEAPTYPE
    uint64_t type_flag_type_subclass = uint64_t{1} << 31;      // Py_TPFLAGS_TYPE_SUBCLASS
    uint64_t type_flag_base_exc_subclass = uint64_t{1} << 30;  // Py_TPFLAGS_BASE_EXC_SUBCLASS
    Offset cell_ref = kAbsent;                                 // PyCellObject.ob_ref
    Offset exception_args = kAbsent;                           // PyBaseExceptionObject.args
    Offset method_self = kAbsent;                              // PyMethodObject.im_self
    Offset method_func = kAbsent;                              // PyMethodObject.im_func
    Offset func_globals = kAbsent;                             // PyFunctionObject fields
    Offset func_name = kAbsent;
    Offset func_qualname = kAbsent;
    Offset func_code = kAbsent;
    Offset func_closure = kAbsent;         // a tuple of cells, or NULL
    Offset func_module = kAbsent;          // __module__
    Offset func_dict = kAbsent;            // __dict__ (an ExitStack callback's __wrapped__), or NULL
    Offset descr_name = kAbsent;           // PyDescrObject.d_name (a method_descriptor's __name__)
    Offset list_items = kAbsent;           // PyListObject.ob_item (PyObject **); ob_size is the length
    Offset float_value = kAbsent;          // PyFloatObject.ob_fval
    Offset cfunction_self = kAbsent;       // PyCFunctionObject.m_self
    Offset method_wrapper_self = kAbsent;  // wrapperobject.self
    Offset managed_dict = kAbsent;         // relative to the object (negative: the pre-header)
    Offset managed_values = kAbsent;       // 3.11: values pointer in the pre-header
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
    Offset dict_used = kAbsent;             // PyDictObject.ma_used: the live entries
    Offset set_used = kAbsent;              // PySetObject.used: the live entries
    Offset set_mask = kAbsent;              // table size - 1
    Offset set_table = kAbsent;             // setentry *table: {key, hash}, hash -1 for a deleted (dummy) entry
    Offset cfunction_method_def = kAbsent;  // PyCFunctionObject.m_ml (PyMethodDef*)
    Offset cfunction_module = kAbsent;      // PyCFunctionObject.m_module
    Offset method_def_name = kAbsent;       // PyMethodDef.ml_name (const char*)
    std::vector<LockLayout> lock_layouts;
    std::vector<RLockLayout> rlock_layouts;
    // Parking lot (3.13+): a parked thread futex-waits on the sem_t of its wait entry's
    // _PySemaphore; the entry's `addr` (what it waits for) lies this far from that sem_t.
    Offset wait_entry_address = kAbsent;
    std::vector<ExceptionGroupLayout> exception_group_layouts;
    UnicodeDatabase unicode_database = UnicodeDatabase::V17_0;
    // sys.get_int_max_str_digits() unless the program changed it (-X int_max_str_digits, or
    // sys.set_int_max_str_digits): every supported build has the limit (3.8.14+, 3.9.14+, 3.10.7+, 3.11+).
    int64_t int_max_str_digits = 4300;

    // collections.deque (dequeobject; ob_size is the length) and its blocks of items
    Offset deque_left_block = kAbsent;
    Offset deque_right_block = kAbsent;
    Offset deque_left_index = kAbsent;   // the first item's index in the left block
    Offset deque_right_index = kAbsent;  // the last item's index in the right block
    Offset deque_block_items = kAbsent;  // block.data[]
    Offset deque_block_right_link = kAbsent;
    Offset deque_block_length = kAbsent;  // BLOCKLEN: items per block (a count, not an offset)

    // asyncio's C Future and Task (_asyncio.Future / _asyncio.Task)
    Offset future_state = kAbsent;  // fut_state: PENDING 0, CANCELLED 1, FINISHED 2
    Offset task_coro = kAbsent;
    Offset task_name = kAbsent;         // a str, or from 3.12 an int N for an automatic "Task-N"
    Offset future_callback0 = kAbsent;  // the first done-callback, kept apart from the list
    Offset future_callbacks = kAbsent;  // a list of (callback, context) tuples, or NULL
    Offset future_exception = kAbsent;
    Offset future_result = kAbsent;
    Offset task_fut_waiter = kAbsent;  // the Future the task waits on, or NULL
    // An int that is non-zero while a cancellation is pending, the one Task.__repr__ reads:
    // task_must_cancel to 3.10, task_num_cancels_requested (Task.cancelling()) from 3.11.
    Offset task_cancelling = kAbsent;
    Offset future_loop = kAbsent;     // fut_loop
    Offset weakref_object = kAbsent;  // PyWeakReference.wr_object (Py_None once the referent is gone)
    // Where a thread keeps the asyncio event loop it is running (asyncio.get_running_loop()):
    RunningLoopSource running_loop = RunningLoopSource::ThreadStateDict;
    Offset tstate_dict = kAbsent;               // PyThreadState.dict (ThreadStateDict)
    Offset running_loop_holder_loop = kAbsent;  // _RunningLoopHolder.rl_loop, where the dict holds one (to 3.11)
    // Whether the task registries are listed in the _asyncio module's .AsyncioDebug section
    // (_Py_AsyncioModuleDebugOffsets, 3.14+): the C tasks are then on linked lists it describes.
    bool asyncio_debug_offsets = false;
    // Whether a Future's repr shows a partial callback's arguments (asyncio's
    // _format_args_and_kwargs): from 3.13 only in debug mode, which the repr does not follow.
    bool future_repr_shows_arguments = true;
    FutureReprGuard future_repr_guard = FutureReprGuard::Result;
    Offset partial_func = kAbsent;  // functools.partial's fn, args (a tuple) and kw (a dict)
    Offset partial_args = kAbsent;
    Offset partial_keywords = kAbsent;
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
