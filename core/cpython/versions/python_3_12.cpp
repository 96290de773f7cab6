// CPython 3.12: _PyCFrame, C-stack shim frames (owner 3), per-interpreter GIL pointer.
// Offsets measured on 3.12.1 (shared/reference/offsets/out_3.12.txt; GIL, exc_info, _finalizing,
// gc, sysdict and ht_qualname fields from the DWARF of the pyenv libpython).
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

PythonLayout python_3_12_layout() {
    PythonLayout l;
    set_gil_build_object_layout(l);
    l.future_repr_guard = FutureReprGuard::Whole;
    l.top_frame = TopFrameSource::CFrameCurrentFrame;
    l.instruction = InstructionPointer::PrevInstr;
    l.line_table = LineTableFormat::Locations;
    l.code_reference = CodeReference::Pointer;
    l.entry_rule = EntryFrameRule::ShimFrames;
    l.shim_owner = 3;  // FRAME_OWNED_BY_CSTACK
    l.gil_location = GilLocation::InterpreterPointer;
    l.dict_keys = DictKeysFormat::Kinds311;
    l.int_format = IntFormat::LvTag;
    l.instance_dict = InstanceDictFormat::Managed312;
    l.dict_values = DictValuesFormat::PlainArray;
    l.thread_id = ThreadIdSource::NativeThreadId;
    l.exception_state = ExceptionStateFormat::ValueOnly;
    l.code_variables = CodeVariablesFormat::LocalsPlus;
    l.gc_location = GcStateLocation::Interpreter;

    l.runtime_interpreters_head = 40;
    l.runtime_finalizing = 24;
    l.gil_locked = 16;
    l.gil_last_holder = 8;

    l.interp_next = 0;
    l.interp_id = 8;
    l.interp_threads_head = 72;
    l.interp_gil = 384;
    l.interp_modules = 944;
    l.interp_sysdict = 352;
    l.interp_gc = 112;

    l.tstate_next = 8;
    l.tstate_interp = 16;
    l.tstate_frame = 56;
    l.cframe_current_frame = 0;
    l.tstate_thread_id = 136;
    l.tstate_native_thread_id = 144;
    l.tstate_exc_info = 104;
    l.tstate_dict = 112;  // holds the loop itself
    l.err_item_value = 0;
    l.err_item_previous = 8;

    l.frame_code = 0;
    l.frame_previous = 8;
    l.frame_globals = 24;
    l.frame_locals = 40;
    l.frame_instruction = 56;
    l.frame_owner = 70;
    l.frame_localsplus = 72;
    l.frame_stack_top = 64;

    l.generator_frame = GeneratorFrameFormat::Embedded;
    l.generator_state = GeneratorStateSource::GenState;
    l.yield_from = YieldFromRule::ResumeOparg;
    l.opcodes_resume = {151, 240};  // RESUME, INSTRUMENTED_RESUME
    l.value_stack_top = ValueStackTop::LocalsPlusIndex;
    l.gen_frame = 72;
    l.gen_frame_state = 67;
    l.gen_qualname = 32;
    l.future_state = 88;
    l.task_coro = 136;
    l.task_name = 144;
    l.task_fut_waiter = 128;
    l.task_cancelling = 168;  // task_num_cancels_requested

    l.code_exceptiontable = 40;
    l.code_argcount = 52;
    l.code_stacksize = 64;  // co_stacksize (DWARF)
    l.code_firstlineno = 68;
    l.code_nlocalsplus = 72;
    l.code_localsplusnames = 96;
    l.code_localspluskinds = 104;
    l.code_kwonlyargcount = 60;
    l.local_kind_hidden = 0x10;  // CO_FAST_HIDDEN
    l.code_filename = 112;
    l.code_name = 120;
    l.code_qualname = 128;
    l.code_linetable = 136;
    l.code_adaptive = 192;
    l.code_flags = 48;
    l.code_consts = 24;
    l.code_names = 32;

    l.with_blocks = WithBlockSource::HandlerChain;
    l.with_exit_slots = WithExitSlots::BoundExit;
    l.with_lines_are_items = false;
    l.exit_call_oparg = 2;  // CALL 2: the first None stands in for self
    l.load_global_name_shift = 1;
    l.load_attr_name_shift = 1;
    // sys.monitoring (3.12.1 DWARF)
    l.code_monitoring = 168;
    l.monitoring_lines_format = MonitoringLinesFormat::Pairs;
    l.monitoring_lines = 40;
    l.monitoring_per_instruction_opcodes = 56;

    l.type_flag_managed_dict = 1 << 4;
    l.managed_dict = -24;  // a dict, or values+1 tagged with bit 0
    l.heap_type_name = 856;
    l.heap_type_qualname = 872;
    l.heap_type_cached_keys = 880;

    l.unicode_ascii_data = 40;
    l.unicode_compact_data = 56;
    l.unicode_database = UnicodeDatabase::V15_0;  // unicodedata.unidata_version
    return l;
}

}  // namespace stackscope
