// CPython 3.13: tstate->current_frame, instr_ptr, shim frames, _Py_DebugOffsets.
// The offsets below are the measured 3.13.0 values (shared/reference/offsets/out_3.13.txt);
// those the runtime publishes in _Py_DebugOffsets are replaced by the target's own values.
// exc_info, _finalizing, gc, sysdict and ht_qualname fields: DWARF of the pyenv libpython
// (gdb -batch -ex 'print (long)&((PyHeapTypeObject*)0)->ht_qualname' libpython3.X.so.1.0).
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

PythonLayout python_3_13_layout() {
    PythonLayout l;
    set_gil_build_object_layout(l);
    l.future_repr_guard = FutureReprGuard::Whole;
    l.top_frame = TopFrameSource::ThreadStateCurrentFrame;
    l.instruction = InstructionPointer::NextInstr;
    l.line_table = LineTableFormat::Locations;
    l.code_reference = CodeReference::Pointer;
    l.entry_rule = EntryFrameRule::ShimFrames;
    l.shim_owner = 3;  // FRAME_OWNED_BY_CSTACK
    l.gil_location = GilLocation::InterpreterPointer;
    l.dict_keys = DictKeysFormat::Kinds311;
    l.int_format = IntFormat::LvTag;
    l.instance_dict = InstanceDictFormat::Managed313;
    l.dict_values = DictValuesFormat::PrefixedArray;
    l.thread_id = ThreadIdSource::NativeThreadId;
    l.exception_state = ExceptionStateFormat::ValueOnly;
    l.code_variables = CodeVariablesFormat::LocalsPlus;
    l.gc_location = GcStateLocation::Interpreter;
    l.has_debug_offsets = true;
    l.debug_build_measured = true;  // Debian's python3.13-dbg: tests/unit/fixtures/debug_offsets_3.13-dbg.bin

    l.runtime_interpreters_head = 632;
    l.runtime_finalizing = 608;
    l.gil_locked = 16;
    l.gil_last_holder = 8;

    l.interp_gil = 16;
    l.interp_next = 7264;
    l.interp_id = 7272;
    l.interp_threads_head = 7344;
    l.interp_modules = 7656;
    l.interp_sysdict = 7640;
    l.interp_gc = 7400;

    l.tstate_next = 8;
    l.tstate_interp = 16;
    l.tstate_frame = 72;
    l.tstate_thread_id = 152;
    l.tstate_native_thread_id = 160;
    l.tstate_exc_info = 120;
    // _PyThreadStateImpl {PyThreadState base; PyObject *asyncio_running_loop; ...}: at
    // tstate_size (304 in 3.13.0, 312 in Debian's 3.13 debug build).
    l.running_loop = RunningLoopSource::ThreadStateImpl;
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
    l.generator_states = GeneratorStates{.created = -3, .suspended = -2, .suspended_yield_from = -1};
    l.yield_from = YieldFromRule::SuspendedYieldFrom;
    l.value_stack_top = ValueStackTop::LocalsPlusIndex;
    l.gen_frame = 72;
    l.gen_frame_state = 67;
    l.gen_qualname = 32;
    l.future_state = 96;
    l.task_coro = 120;
    l.task_name = 128;
    l.task_fut_waiter = 112;
    l.task_cancelling = 104;  // task_num_cancels_requested
    l.future_repr_shows_arguments = false;

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
    l.code_adaptive = 200;
    l.code_flags = 48;
    l.code_consts = 24;
    l.code_names = 32;

    l.with_blocks = WithBlockSource::HandlerChain;
    l.with_exit_slots = WithExitSlots::BoundExit;
    l.exit_call_oparg = 2;  // CALL 2: the first None stands in for self
    l.load_global_name_shift = 1;
    l.load_attr_name_shift = 1;
    // sys.monitoring and tier-2 executors (3.13.0 and Debian 3.13.18 DWARF): 3.13.18 has the
    // lines format of 3.14 (backported), 3.13.0 the older one.
    l.code_monitoring = 176;
    l.code_executors = 152;
    l.monitoring_lines_format = MonitoringLinesFormat::Either;
    l.monitoring_lines = 32;
    l.monitoring_per_instruction_opcodes = 48;
    l.executor_array_items = 8;
    l.executor_opcode = 32;
    l.executor_oparg = 33;

    l.type_flag_managed_dict = 1 << 4;
    l.type_flag_inline_values = 1 << 2;
    l.managed_dict = -24;
    l.heap_type_name = 856;
    l.heap_type_qualname = 872;
    l.heap_type_cached_keys = 880;

    l.unicode_ascii_data = 40;
    l.unicode_compact_data = 56;
    l.unicode_database = UnicodeDatabase::V15_1;  // unicodedata.unidata_version
    return l;
}

}  // namespace stackscope
