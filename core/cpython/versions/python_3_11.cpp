// CPython 3.11: _PyCFrame, is_entry, no shim frames, GIL embedded in _PyRuntime.
// Offsets measured on 3.11.7 (shared/reference/offsets/out_3.11.txt).
// exc_info, _finalizing, gc, sysdict and ht_qualname fields: DWARF of the pyenv libpython
// (gdb -batch -ex 'print (long)&((PyHeapTypeObject*)0)->ht_qualname' libpython3.X.so.1.0).
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

PythonLayout python_3_11_layout() {
    PythonLayout l;
    set_gil_build_object_layout(l);
    l.future_repr_guard = FutureReprGuard::Whole;
    l.top_frame = TopFrameSource::CFrameCurrentFrame;
    l.instruction = InstructionPointer::PrevInstr;
    l.line_table = LineTableFormat::Locations;
    l.code_reference = CodeReference::Pointer;
    l.entry_rule = EntryFrameRule::IsEntryFlag;
    l.gil_location = GilLocation::Runtime;
    l.dict_keys = DictKeysFormat::Kinds311;
    l.int_format = IntFormat::SignedSize;
    l.instance_dict = InstanceDictFormat::Managed311;
    l.dict_values = DictValuesFormat::PlainArray;
    l.thread_id = ThreadIdSource::NativeThreadId;
    l.exception_state = ExceptionStateFormat::ValueOnly;
    l.code_variables = CodeVariablesFormat::LocalsPlus;
    l.gc_location = GcStateLocation::Interpreter;

    l.runtime_interpreters_head = 40;
    l.runtime_gil = 360;
    l.runtime_finalizing = 24;
    l.interp_gc = 648;
    l.gil_locked = 16;
    l.gil_last_holder = 8;

    l.interp_next = 0;
    l.interp_id = 48;
    l.interp_threads_head = 16;
    l.interp_modules = 888;
    l.interp_sysdict = 904;

    l.tstate_next = 8;
    l.tstate_interp = 16;
    l.tstate_frame = 56;
    l.cframe_current_frame = 8;
    l.tstate_thread_id = 152;
    l.tstate_native_thread_id = 160;
    l.tstate_exc_info = 120;
    l.tstate_dict = 128;
    l.running_loop_holder_loop = 16;  // PyRunningLoopHolder {PyObject_HEAD; rl_loop; rl_pid}
    l.err_item_value = 0;
    l.err_item_previous = 8;

    l.frame_code = 32;
    l.frame_previous = 48;
    l.frame_globals = 8;
    l.frame_locals = 24;
    l.frame_instruction = 56;
    l.frame_is_entry = 68;
    l.frame_owner = 69;
    l.frame_localsplus = 72;
    l.frame_stack_top = 64;

    l.generator_frame = GeneratorFrameFormat::Embedded;
    l.generator_state = GeneratorStateSource::GenState;
    l.yield_from = YieldFromRule::ResumeOparg;
    l.opcodes_resume = {151, 150};  // RESUME, RESUME_QUICK
    l.value_stack_top = ValueStackTop::LocalsPlusIndex;
    l.gen_frame = 80;
    l.gen_frame_state = 75;
    l.gen_qualname = 40;
    l.gen_code = 16;
    l.future_state = 88;
    l.task_coro = 136;
    l.task_name = 144;
    l.task_fut_waiter = 128;
    l.task_cancelling = 168;  // task_num_cancels_requested

    l.code_exceptiontable = 40;
    l.code_argcount = 56;
    l.code_stacksize = 68;  // co_stacksize (DWARF)
    l.code_firstlineno = 72;
    l.code_nlocalsplus = 76;
    l.code_localsplusnames = 96;
    l.code_localspluskinds = 104;
    l.code_kwonlyargcount = 64;
    l.code_filename = 112;
    l.code_name = 120;
    l.code_qualname = 128;
    l.code_linetable = 136;
    l.code_adaptive = 184;
    l.code_flags = 48;
    l.code_consts = 24;
    l.code_names = 32;

    l.with_blocks = WithBlockSource::HandlerChain;
    l.with_exit_slots = WithExitSlots::BoundExit;
    l.with_lines_are_items = false;
    l.exit_call_oparg = 2;  // CALL 2: the first None stands in for self
    l.load_global_name_shift = 1;
    l.load_attr_name_shift = 0;

    l.type_flag_managed_dict = 1 << 4;
    l.managed_dict = -24;
    l.managed_values = -32;
    l.heap_type_name = 848;
    l.heap_type_qualname = 864;
    l.heap_type_cached_keys = 872;

    l.unicode_ascii_data = 48;
    l.unicode_compact_data = 72;
    l.unicode_database = UnicodeDatabase::V14_0;  // unicodedata.unidata_version
    return l;
}

}  // namespace stackscope
