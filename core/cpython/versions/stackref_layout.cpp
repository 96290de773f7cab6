// CPython 3.14 and 3.15: _PyStackRef frame fields, owner INTERPRETER (3) and, in 3.14,
// CSTACK (4) for the entry frames, tuple items at 32. The offsets below were measured on
// Debian's 3.14.10 and 3.15.2 (offsetof probes against their headers, built with the
// same -D_Py_TIER2=3 -D_Py_JIT as the packages); the ones the runtime publishes in
// _Py_DebugOffsets are then replaced by the target's own values.
#include "cpython/versions/version_tables.hpp"

namespace stackscope {

namespace {

void set_stackref_era_layout(PythonLayout& l) {
    set_gil_build_object_layout(l);
    l.future_repr_guard = FutureReprGuard::Whole;
    l.top_frame = TopFrameSource::ThreadStateCurrentFrame;
    l.instruction = InstructionPointer::NextInstr;
    l.line_table = LineTableFormat::Locations;
    l.code_reference = CodeReference::StackRef;
    l.stackref_tag_mask = 3;  // Py_TAG_BITS
    l.entry_rule = EntryFrameRule::ShimFrames;
    l.shim_owner = 3;  // FRAME_OWNED_BY_INTERPRETER, and CSTACK (4) where it exists
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
    l.running_loop = RunningLoopSource::AsyncioDebug;
    l.asyncio_debug_offsets = true;
    l.debug_build_measured = true;  // Debian's python3.1X-dbg: tests/unit/fixtures/debug_offsets_3.1X-dbg.bin

    l.gil_locked = 16;
    l.gil_last_holder = 8;
    l.interp_gil = 16;

    l.tstate_next = 8;
    l.tstate_interp = 16;
    l.tstate_frame = 72;

    l.frame_code = 0;
    l.err_item_value = 0;
    l.err_item_previous = 8;
    l.frame_previous = 8;
    l.frame_globals = 24;
    l.frame_locals = 40;
    l.frame_instruction = 56;
    l.frame_owner = 74;
    l.frame_localsplus = 80;
    l.frame_stack_top = 64;  // stackpointer

    l.generator_frame = GeneratorFrameFormat::Embedded;
    l.generator_state = GeneratorStateSource::GenState;
    l.generator_states = GeneratorStates{.created = -3, .suspended = -2, .suspended_yield_from = -1};
    l.yield_from = YieldFromRule::SuspendedYieldFrom;
    l.value_stack_top = ValueStackTop::StackPointer;
    l.gen_frame = 72;
    l.gen_frame_state = 67;
    l.gen_qualname = 32;
    l.future_state = 104;
    l.task_coro = 128;
    l.task_name = 136;
    l.task_fut_waiter = 120;
    l.task_cancelling = 112;  // task_num_cancels_requested
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
    l.code_adaptive = 208;
    l.code_flags = 48;
    l.code_consts = 24;
    l.code_names = 32;

    l.with_blocks = WithBlockSource::HandlerChain;
    l.with_exit_slots = WithExitSlots::CallableAndSelf;
    l.exit_call_oparg = 3;  // CALL 3: __exit__ and its self, then three Nones
    l.load_global_name_shift = 1;
    l.load_attr_name_shift = 1;
    // sys.monitoring and tier-2 executors (Debian 3.14.10 / 3.15.2 debug builds' DWARF, and
    // measured in the release builds): the executor fields did not move.
    l.code_monitoring = 176;
    l.code_executors = 152;
    l.monitoring_lines_format = MonitoringLinesFormat::BytesPerEntry;
    l.executor_array_items = 8;
    l.executor_opcode = 32;
    l.executor_oparg = 33;

    l.type_flag_managed_dict = 1 << 4;
    l.type_flag_inline_values = 1 << 2;
    l.managed_dict = -24;
    l.tuple_items = 32;
    l.unicode_ascii_data = 40;
    l.unicode_compact_data = 56;
}

}  // namespace

PythonLayout python_3_14_layout() {
    PythonLayout l;
    set_stackref_era_layout(l);
    l.runtime_interpreters_head = 808;
    l.runtime_finalizing = 784;
    l.interp_gc = 7408;
    l.gc_collecting = 192;
    l.tstate_exc_info = 120;
    l.interp_next = 7272;
    l.interp_id = 7280;
    l.interp_threads_head = 7344;
    l.interp_modules = 7688;
    l.interp_sysdict = 7672;
    l.tstate_thread_id = 152;
    l.tstate_native_thread_id = 160;
    l.heap_type_name = 856;
    l.heap_type_qualname = 872;
    l.heap_type_cached_keys = 880;
    l.monitoring_lines = 96;
    l.monitoring_per_instruction_opcodes = 112;
    l.unicode_database = UnicodeDatabase::V16_0;  // unicodedata.unidata_version
    return l;
}

PythonLayout python_3_15_layout() {
    PythonLayout l;
    set_stackref_era_layout(l);
    l.runtime_interpreters_head = 936;
    l.runtime_finalizing = 912;
    l.interp_gc = 7400;
    l.gc_collecting = 112;
    l.tstate_exc_info = 144;
    l.interp_next = 7264;
    l.interp_id = 7272;
    l.interp_threads_head = 7336;
    l.interp_modules = 7592;
    l.interp_sysdict = 7576;
    l.tstate_thread_id = 176;
    l.tstate_native_thread_id = 184;
    l.heap_type_name = 864;
    l.heap_type_qualname = 880;
    l.heap_type_cached_keys = 888;
    l.monitoring_lines = 104;
    l.monitoring_per_instruction_opcodes = 120;
    // Renumbered, with no COMPLETED state: a finished generator is CLEARED.
    l.generator_states = GeneratorStates{.created = 0,
                                         .suspended = 1,
                                         .suspended_yield_from = 2,
                                         .suspended_yield_from_locked = 3,
                                         .executing = 4,
                                         .completed = 5};
    // `yield from` / `await` keep two items: the awaited object under a NULL (or an index).
    l.awaited_stack_slot = 2;
    l.unicode_database = UnicodeDatabase::V17_0;  // unicodedata.unidata_version
    return l;
}

}  // namespace stackscope
