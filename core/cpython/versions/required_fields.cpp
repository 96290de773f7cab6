// Which PythonLayout fields each era needs: the behaviour enums say which code paths a
// version takes, and each path reads these fields. A gap in a table then shows as a failed
// unit test, not as a feature that silently switches off.
#include <utility>
#include <vector>

#include "cpython/python_layout.hpp"

namespace stackscope {

namespace {

using Field = std::pair<const char*, Offset PythonLayout::*>;

#define STACKSCOPE_FIELD(name) \
    Field { #name, &PythonLayout::name }

// Every era, every code path.
const std::vector<Field> kAlways = {
    STACKSCOPE_FIELD(runtime_interpreters_head),
    STACKSCOPE_FIELD(runtime_finalizing),
    STACKSCOPE_FIELD(interp_next),
    STACKSCOPE_FIELD(interp_id),
    STACKSCOPE_FIELD(interp_threads_head),
    STACKSCOPE_FIELD(interp_modules),
    STACKSCOPE_FIELD(interp_sysdict),
    STACKSCOPE_FIELD(gc_collecting),
    STACKSCOPE_FIELD(gil_locked),
    STACKSCOPE_FIELD(gil_last_holder),
    STACKSCOPE_FIELD(gil_size),
    STACKSCOPE_FIELD(tstate_next),
    STACKSCOPE_FIELD(tstate_interp),
    STACKSCOPE_FIELD(tstate_frame),
    STACKSCOPE_FIELD(tstate_thread_id),
    STACKSCOPE_FIELD(tstate_exc_info),
    STACKSCOPE_FIELD(err_item_value),
    STACKSCOPE_FIELD(err_item_previous),
    STACKSCOPE_FIELD(frame_code),
    STACKSCOPE_FIELD(frame_previous),
    STACKSCOPE_FIELD(frame_globals),
    STACKSCOPE_FIELD(frame_instruction),
    STACKSCOPE_FIELD(frame_localsplus),
    STACKSCOPE_FIELD(code_filename),
    STACKSCOPE_FIELD(code_name),
    STACKSCOPE_FIELD(code_firstlineno),
    STACKSCOPE_FIELD(code_linetable),
    STACKSCOPE_FIELD(code_argcount),
    STACKSCOPE_FIELD(object_type),
    STACKSCOPE_FIELD(var_size),
    STACKSCOPE_FIELD(type_name),
    STACKSCOPE_FIELD(type_flags),
    STACKSCOPE_FIELD(type_basicsize),
    STACKSCOPE_FIELD(heap_type_qualname),
    STACKSCOPE_FIELD(heap_type_name),
    STACKSCOPE_FIELD(exception_args),
    STACKSCOPE_FIELD(module_dict),
    STACKSCOPE_FIELD(long_digits),
    STACKSCOPE_FIELD(tuple_items),
    STACKSCOPE_FIELD(list_items),
    STACKSCOPE_FIELD(float_value),
    STACKSCOPE_FIELD(method_func),
    STACKSCOPE_FIELD(func_globals),
    STACKSCOPE_FIELD(func_name),
    STACKSCOPE_FIELD(func_qualname),
    STACKSCOPE_FIELD(func_code),
    STACKSCOPE_FIELD(func_closure),
    STACKSCOPE_FIELD(func_module),
    STACKSCOPE_FIELD(func_dict),
    STACKSCOPE_FIELD(descr_name),
    STACKSCOPE_FIELD(cell_ref),
    STACKSCOPE_FIELD(deque_left_block),
    STACKSCOPE_FIELD(deque_right_block),
    STACKSCOPE_FIELD(deque_left_index),
    STACKSCOPE_FIELD(deque_right_index),
    STACKSCOPE_FIELD(deque_block_items),
    STACKSCOPE_FIELD(deque_block_right_link),
    STACKSCOPE_FIELD(deque_block_length),
    STACKSCOPE_FIELD(bytes_size),
    STACKSCOPE_FIELD(bytes_data),
    STACKSCOPE_FIELD(unicode_length),
    STACKSCOPE_FIELD(unicode_state),
    STACKSCOPE_FIELD(unicode_ascii_data),
    STACKSCOPE_FIELD(unicode_compact_data),
    STACKSCOPE_FIELD(dict_keys_ptr),
    STACKSCOPE_FIELD(dict_values_ptr),
    STACKSCOPE_FIELD(type_dict),
    STACKSCOPE_FIELD(type_mro),
    STACKSCOPE_FIELD(code_flags),
    STACKSCOPE_FIELD(frame_stack_top),
    STACKSCOPE_FIELD(gen_frame),
    STACKSCOPE_FIELD(gen_qualname),
    STACKSCOPE_FIELD(wrapper_target),
    STACKSCOPE_FIELD(future_state),
    STACKSCOPE_FIELD(task_coro),
    STACKSCOPE_FIELD(task_name),
    STACKSCOPE_FIELD(future_callback0),
    STACKSCOPE_FIELD(future_callbacks),
    STACKSCOPE_FIELD(future_exception),
    STACKSCOPE_FIELD(future_result),
    STACKSCOPE_FIELD(task_fut_waiter),
    STACKSCOPE_FIELD(task_cancelling),
    STACKSCOPE_FIELD(future_loop),
    STACKSCOPE_FIELD(weakref_object),
    STACKSCOPE_FIELD(partial_func),
    STACKSCOPE_FIELD(partial_args),
    STACKSCOPE_FIELD(partial_keywords),
};

void add(std::vector<Field>& out, std::initializer_list<Field> fields) { out.insert(out.end(), fields); }

std::vector<Field> required_fields(const PythonLayout& l) {
    std::vector<Field> out = kAlways;
    if (l.top_frame == TopFrameSource::CFrameCurrentFrame) add(out, {STACKSCOPE_FIELD(cframe_current_frame)});
    switch (l.gil_location) {
        case GilLocation::Runtime: add(out, {STACKSCOPE_FIELD(runtime_gil)}); break;
        case GilLocation::InterpreterPointer: add(out, {STACKSCOPE_FIELD(interp_gil)}); break;
    }
    switch (l.gc_location) {
        case GcStateLocation::Runtime: add(out, {STACKSCOPE_FIELD(runtime_gc)}); break;
        case GcStateLocation::Interpreter: add(out, {STACKSCOPE_FIELD(interp_gc)}); break;
    }
    if (l.thread_id == ThreadIdSource::NativeThreadId) add(out, {STACKSCOPE_FIELD(tstate_native_thread_id)});
    if (l.exception_state == ExceptionStateFormat::TypeValueTraceback) add(out, {STACKSCOPE_FIELD(err_item_type)});
    switch (l.entry_rule) {
        case EntryFrameRule::EveryFrame: break;
        case EntryFrameRule::IsEntryFlag: add(out, {STACKSCOPE_FIELD(frame_is_entry)}); break;
        case EntryFrameRule::ShimFrames: add(out, {STACKSCOPE_FIELD(frame_owner)}); break;
    }
    if (l.instruction == InstructionPointer::PrevInstr || l.instruction == InstructionPointer::NextInstr) {
        add(out, {STACKSCOPE_FIELD(code_adaptive)});
    }
    if (l.line_table == LineTableFormat::Locations) add(out, {STACKSCOPE_FIELD(code_exceptiontable)});
    switch (l.function_name) {
        case FunctionNameSource::CodeQualname: add(out, {STACKSCOPE_FIELD(code_qualname)}); break;
        case FunctionNameSource::SelfOrClsHeuristic: break;  // its cells: cell_ref, which every version needs
    }
    switch (l.code_variables) {
        case CodeVariablesFormat::Separate:
            add(out, {STACKSCOPE_FIELD(code_varnames), STACKSCOPE_FIELD(code_cellvars), STACKSCOPE_FIELD(code_nlocals),
                      STACKSCOPE_FIELD(code_freevars), STACKSCOPE_FIELD(code_kwonlyargcount)});
            break;
        case CodeVariablesFormat::LocalsPlus:
            add(out, {STACKSCOPE_FIELD(code_localsplusnames), STACKSCOPE_FIELD(code_nlocalsplus),
                      STACKSCOPE_FIELD(code_localspluskinds), STACKSCOPE_FIELD(code_kwonlyargcount)});
            break;
    }
    switch (l.generator_state) {
        case GeneratorStateSource::RunningFlag: add(out, {STACKSCOPE_FIELD(gen_running)}); break;
        case GeneratorStateSource::FrameState: add(out, {STACKSCOPE_FIELD(frame_state)}); break;
        case GeneratorStateSource::GenState: add(out, {STACKSCOPE_FIELD(gen_frame_state)}); break;
    }
    if (l.yield_from == YieldFromRule::NextOpcode) add(out, {STACKSCOPE_FIELD(code_bytecode)});
    if (l.value_stack_top == ValueStackTop::Depth) add(out, {STACKSCOPE_FIELD(frame_valuestack)});
    add(out, {STACKSCOPE_FIELD(code_consts), STACKSCOPE_FIELD(code_names), STACKSCOPE_FIELD(frame_locals),
              STACKSCOPE_FIELD(method_self), STACKSCOPE_FIELD(cfunction_self), STACKSCOPE_FIELD(method_wrapper_self)});
    switch (l.with_blocks) {
        case WithBlockSource::BlockStack:
            add(out,
                {STACKSCOPE_FIELD(frame_iblock), STACKSCOPE_FIELD(frame_blockstack), STACKSCOPE_FIELD(frame_valuestack),
                 STACKSCOPE_FIELD(code_freevars), STACKSCOPE_FIELD(try_block_size), STACKSCOPE_FIELD(try_block_type),
                 STACKSCOPE_FIELD(try_block_handler), STACKSCOPE_FIELD(try_block_level)});
            break;
        case WithBlockSource::HandlerChain: add(out, {STACKSCOPE_FIELD(code_exceptiontable)}); break;
    }
    if (l.monitoring_lines_format != MonitoringLinesFormat::None)
        add(out, {STACKSCOPE_FIELD(code_monitoring), STACKSCOPE_FIELD(monitoring_lines),
                  STACKSCOPE_FIELD(monitoring_per_instruction_opcodes)});
    if (l.code_executors != kAbsent)
        add(out, {STACKSCOPE_FIELD(executor_array_items), STACKSCOPE_FIELD(executor_opcode),
                  STACKSCOPE_FIELD(executor_oparg)});
    switch (l.instance_dict) {
        case InstanceDictFormat::DictOffset: add(out, {STACKSCOPE_FIELD(type_dictoffset)}); break;
        case InstanceDictFormat::Managed311:
            add(out, {STACKSCOPE_FIELD(managed_dict), STACKSCOPE_FIELD(managed_values),
                      STACKSCOPE_FIELD(heap_type_cached_keys)});
            break;
        case InstanceDictFormat::Managed312:
        case InstanceDictFormat::Managed313:
            add(out, {STACKSCOPE_FIELD(managed_dict), STACKSCOPE_FIELD(heap_type_cached_keys)});
            break;
    }
    return out;
}

#undef STACKSCOPE_FIELD

}  // namespace

std::vector<std::string> missing_fields(const PythonLayout& layout) {
    std::vector<std::string> out;
    for (const auto& [name, member] : required_fields(layout)) {
        if (layout.*member == kAbsent) out.emplace_back(name);
    }
    if (layout.instance_dict != InstanceDictFormat::DictOffset && layout.type_flag_managed_dict == 0) {
        out.emplace_back("type_flag_managed_dict");
    }
    if (layout.instance_dict == InstanceDictFormat::Managed313 && layout.type_flag_inline_values == 0) {
        out.emplace_back("type_flag_inline_values");
    }
    if (layout.code_reference == CodeReference::StackRef && layout.stackref_tag_mask == 0)
        out.emplace_back("stackref_tag_mask");
    if (layout.yield_from == YieldFromRule::NextOpcode && layout.opcode_yield_from < 0)
        out.emplace_back("opcode_yield_from");
    if (layout.yield_from == YieldFromRule::ResumeOparg && layout.opcodes_resume.empty())
        out.emplace_back("opcodes_resume");
    if (layout.value_stack_top == ValueStackTop::StackPointer && layout.stackref_tag_mask == 0)
        out.emplace_back("stackref_tag_mask");
    return out;
}

}  // namespace stackscope
