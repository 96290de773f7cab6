// What CPython 3.8, 3.9 and 3.10 share: PyFrameObject chains hanging off tstate->frame,
// dict keys with dk_size and {hash, key, value} entries, instance dicts at tp_dictoffset,
// signed digit counts, and no co_qualname. Each of those tables calls this, then sets what
// moved. Offsets measured on 3.8.18 / 3.9.18 / 3.10.13 (shared/reference/offsets/out_3.X.txt;
// GIL, cell, exc_info, _finalizing and gc fields from each libpython's DWARF).
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

void set_frame_object_layout(PythonLayout& l) {
    set_gil_build_object_layout(l);
    l.top_frame = TopFrameSource::ThreadStateFrame;
    l.code_reference = CodeReference::Pointer;
    l.entry_rule = EntryFrameRule::EveryFrame;
    l.gil_location = GilLocation::Runtime;
    l.dict_keys = DictKeysFormat::Split310;
    l.dict_values = DictValuesFormat::PlainArray;
    l.int_format = IntFormat::SignedSize;
    l.instance_dict = InstanceDictFormat::DictOffset;
    l.function_name = FunctionNameSource::SelfOrClsHeuristic;
    l.thread_id = ThreadIdSource::PthreadDescriptor;
    l.exception_state = ExceptionStateFormat::TypeValueTraceback;
    l.code_variables = CodeVariablesFormat::Separate;

    l.runtime_interpreters_head = 32;
    l.gil_locked = 16;
    l.gil_last_holder = 8;

    l.interp_next = 0;
    l.interp_threads_head = 8;

    l.tstate_next = 8;
    l.tstate_interp = 16;
    l.tstate_frame = 24;
    l.tstate_thread_id = 176;
    l.tstate_exc_info = 144;
    l.tstate_dict = 152;
    l.running_loop_holder_loop = 16;  // PyRunningLoopHolder {PyObject_HEAD; rl_loop; rl_pid}
    l.runtime_finalizing = 16;

    l.err_item_type = 0;
    l.err_item_value = 8;
    l.err_item_previous = 24;

    l.frame_previous = 24;  // f_back
    l.frame_code = 32;
    l.frame_globals = 48;
    l.frame_locals = 56;

    l.code_argcount = 16;

    l.code_stacksize = 32;  // co_stacksize (DWARF)
    l.code_nlocals = 28;
    l.code_kwonlyargcount = 24;
    l.code_firstlineno = 40;
    l.code_varnames = 72;
    l.code_cellvars = 88;
    l.code_filename = 104;
    l.code_name = 112;
    l.code_linetable = 120;  // co_lnotab (3.8, 3.9) or co_linetable (3.10)
    l.code_flags = 36;
    l.code_bytecode = 48;
    l.code_consts = 56;
    l.code_names = 64;
    l.code_freevars = 80;

    l.with_blocks = WithBlockSource::BlockStack;
    l.with_exit_slots = WithExitSlots::BoundExit;
    l.with_lines_are_items = false;
    l.exit_call_oparg = 3;  // CALL_FUNCTION 3
    l.exit_await_oparg = -1;
    l.load_global_name_shift = 0;
    l.load_attr_name_shift = 0;
    l.frame_valuestack = 64;
    l.try_block_size = 12;
    l.try_block_type = 0;
    l.try_block_handler = 4;
    l.try_block_level = 8;

    l.generator_frame = GeneratorFrameFormat::FramePointer;
    l.yield_from = YieldFromRule::NextOpcode;
    l.opcode_yield_from = 72;  // YIELD_FROM
    l.gen_frame = 16;

    l.unicode_ascii_data = 48;
    l.unicode_compact_data = 72;
}

namespace {

// PyFunctionObject before 3.10 (3.8.18 and 3.9.18 DWARF): func_code first.
void set_function_object_before_3_10(PythonLayout& l) {
    l.func_code = 16;
    l.func_globals = 24;
    l.func_closure = 48;
    l.func_name = 64;
    l.func_module = 88;
    l.func_qualname = 104;
    l.func_dict = 72;
}

}  // namespace

PythonLayout python_3_8_layout() {
    PythonLayout l;
    set_frame_object_layout(l);
    set_function_object_before_3_10(l);
    l.instruction = InstructionPointer::LastiBytes;
    l.line_table = LineTableFormat::Lnotab;
    l.runtime_gil = 1152;
    l.gc_location = GcStateLocation::Runtime;
    l.runtime_gc = 344;
    l.interp_id = 16;
    l.interp_modules = 56;
    l.interp_sysdict = 72;
    l.frame_instruction = 104;
    l.frame_localsplus = 360;
    l.heap_type_name = 848;
    l.heap_type_qualname = 864;
    l.generator_state = GeneratorStateSource::RunningFlag;
    l.value_stack_top = ValueStackTop::TopPointer;
    l.frame_stack_top = 72;
    l.gen_running = 24;
    l.gen_qualname = 56;
    l.gen_code = 32;
    l.future_state = 72;
    l.task_coro = 112;
    l.task_name = 120;
    l.future_result = 56;
    l.task_fut_waiter = 104;
    l.task_cancelling = 136;  // task_must_cancel
    l.frame_iblock = 112;
    l.frame_blockstack = 120;
    l.unicode_database = UnicodeDatabase::V12_1;  // unicodedata.unidata_version
    return l;
}

PythonLayout python_3_9_layout() {
    PythonLayout l;
    set_frame_object_layout(l);
    set_function_object_before_3_10(l);
    l.instruction = InstructionPointer::LastiBytes;
    l.line_table = LineTableFormat::Lnotab;
    l.runtime_gil = 352;
    l.gc_location = GcStateLocation::Interpreter;
    l.interp_gc = 616;
    l.interp_id = 24;
    l.interp_modules = 856;
    l.interp_sysdict = 872;
    l.frame_instruction = 104;
    l.frame_localsplus = 360;
    l.heap_type_name = 840;
    l.heap_type_qualname = 856;
    l.generator_state = GeneratorStateSource::RunningFlag;
    l.value_stack_top = ValueStackTop::TopPointer;
    l.frame_stack_top = 72;
    l.gen_running = 24;
    l.gen_qualname = 56;
    l.gen_code = 32;
    l.future_state = 80;
    l.task_coro = 152;
    l.task_name = 160;
    l.future_result = 56;
    l.task_fut_waiter = 144;
    l.task_cancelling = 176;  // task_must_cancel
    l.frame_iblock = 112;
    l.frame_blockstack = 120;
    l.unicode_database = UnicodeDatabase::V13_0;  // unicodedata.unidata_version
    return l;
}

PythonLayout python_3_10_layout() {
    PythonLayout l;
    set_frame_object_layout(l);
    l.instruction = InstructionPointer::LastiUnits;
    l.line_table = LineTableFormat::Pep626;
    l.runtime_gil = 352;
    l.gc_location = GcStateLocation::Interpreter;
    l.interp_gc = 616;
    l.interp_id = 24;
    l.interp_modules = 856;
    l.interp_sysdict = 872;
    l.frame_instruction = 96;
    l.frame_localsplus = 352;
    l.heap_type_name = 848;
    l.heap_type_qualname = 864;
    l.generator_state = GeneratorStateSource::FrameState;
    l.frame_state = 108;  // f_state: CREATED -2, SUSPENDED -1, EXECUTING 0, RETURNED 1 ...
    l.value_stack_top = ValueStackTop::Depth;
    l.frame_stack_top = 80;
    l.gen_qualname = 48;
    l.gen_code = 24;
    l.future_state = 88;
    l.task_coro = 160;
    l.task_name = 168;
    l.task_fut_waiter = 152;
    l.task_cancelling = 184;  // task_must_cancel
    l.frame_iblock = 104;
    l.frame_blockstack = 112;
    l.unicode_database = UnicodeDatabase::V13_0;  // unicodedata.unidata_version
    return l;
}

}  // namespace stackscope
