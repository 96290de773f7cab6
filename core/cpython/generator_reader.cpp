#include "cpython/generator_reader.hpp"

#include <algorithm>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// co_flags bits (Include/cpython/code.h, the same in every version).
constexpr uint32_t kCoGenerator = 0x20;
constexpr uint32_t kCoCoroutine = 0x80;
constexpr uint32_t kCoAsyncGenerator = 0x200;

// Bounds of a frame's value stack, far above any real one (co_stacksize is an int, but the
// compiler never makes one this deep).
constexpr int64_t kMaxStackSlots = 1 << 20;

}  // namespace

std::string_view generator_kind_name(GeneratorKind kind) {
    switch (kind) {
        case GeneratorKind::Generator: return "generator";
        case GeneratorKind::Coroutine: return "coroutine";
        case GeneratorKind::AsyncGenerator: return "async_generator";
    }
    return "generator";
}

std::optional<GeneratorKind> GeneratorReader::kind_of(uint64_t object) {
    bool unknown = false;
    const uint64_t object_type = objects_.type_of(object);
    for (const auto& [type, kind] : {std::pair{BuiltinType::Generator, GeneratorKind::Generator},
                                     std::pair{BuiltinType::Coroutine, GeneratorKind::Coroutine},
                                     std::pair{BuiltinType::AsyncGenerator, GeneratorKind::AsyncGenerator}}) {
        switch (objects_.types().match(object_type, type)) {
            case TypeMatch::Yes: return kind;
            case TypeMatch::No: break;
            case TypeMatch::Unknown: unknown = true; break;
        }
    }
    return unknown ? kind_by_code_flags(object) : std::nullopt;
}

// An object whose embedded frame is owned by a generator and runs a generator's code is one:
// the code's flags say which kind.
std::optional<GeneratorKind> GeneratorReader::kind_by_code_flags(uint64_t object) {
    if (l_.generator_frame != GeneratorFrameFormat::Embedded || l_.frame_owner == kAbsent) return std::nullopt;
    try {
        const uint64_t frame = object + static_cast<uint64_t>(l_.gen_frame);
        if (mem_.read_value<uint8_t>(frame + l_.frame_owner) != l_.generator_owner) return std::nullopt;
        uint64_t code = mem_.read_pointer(frame + l_.frame_code);
        if (l_.code_reference == CodeReference::StackRef) code &= ~l_.stackref_tag_mask;
        if (objects_.match(code, BuiltinType::Code) != TypeMatch::Yes) return std::nullopt;
        const auto flags = mem_.read_value<uint32_t>(code + l_.code_flags);
        if (flags & kCoCoroutine) return GeneratorKind::Coroutine;
        if (flags & kCoAsyncGenerator) return GeneratorKind::AsyncGenerator;
        if (flags & kCoGenerator) return GeneratorKind::Generator;
    } catch (const Error&) {
        // not a generator we can tell
    }
    return std::nullopt;
}

GeneratorInfo GeneratorReader::read(uint64_t generator, GeneratorKind kind) {
    GeneratorInfo info;
    info.kind = kind;
    info.qualname = objects_.read_str(mem_.read_pointer(generator + l_.gen_qualname), 1024);
    const uint64_t frame = l_.generator_frame == GeneratorFrameFormat::Embedded
                               ? generator + static_cast<uint64_t>(l_.gen_frame)
                               : mem_.read_pointer(generator + l_.gen_frame);
    int raw_state = 0;
    info.state = state_of(generator, frame, &raw_state);
    if (info.state == GeneratorState::Finished) return info;
    info.frame = frame;
    if (info.state == GeneratorState::Suspended) info.awaiting = awaited_object(frame, raw_state);
    return info;
}

uint64_t GeneratorReader::code_of(uint64_t generator) {
    if (l_.gen_code != kAbsent) return mem_.read_pointer(generator + l_.gen_code);
    // From 3.12 the embedded frame keeps its code until the generator is freed.
    uint64_t code = mem_.read_pointer(generator + static_cast<uint64_t>(l_.gen_frame) + l_.frame_code);
    if (l_.code_reference == CodeReference::StackRef) code &= ~l_.stackref_tag_mask;
    return code;
}

GeneratorState GeneratorReader::state_of(uint64_t generator, uint64_t frame, int* raw_state) {
    switch (l_.generator_state) {
        case GeneratorStateSource::RunningFlag:
            if (frame == 0) return GeneratorState::Finished;
            if (mem_.read_value<uint8_t>(generator + l_.gen_running)) return GeneratorState::Running;
            return mem_.read_value<int32_t>(frame + l_.frame_instruction) < 0 ? GeneratorState::Created
                                                                              : GeneratorState::Suspended;
        case GeneratorStateSource::FrameState:
            if (frame == 0) return GeneratorState::Finished;
            *raw_state = mem_.read_value<int8_t>(frame + l_.frame_state);
            return state_from_number(*raw_state);
        case GeneratorStateSource::GenState:
            *raw_state = mem_.read_value<int8_t>(generator + l_.gen_frame_state);
            return state_from_number(*raw_state);
    }
    return GeneratorState::Finished;
}

GeneratorState GeneratorReader::state_from_number(int state) {
    const GeneratorStates& s = l_.generator_states;
    if (state == s.created) return GeneratorState::Created;
    if (state == s.suspended || state == s.suspended_yield_from || state == s.suspended_yield_from_locked)
        return GeneratorState::Suspended;
    if (state == s.executing) return GeneratorState::Running;
    if (state >= s.completed) return GeneratorState::Finished;
    throw bad_data("the generator state " + std::to_string(state) + " is not one this version has");
}

// What a suspended generator waits on, as _PyGen_yf finds it; 0 when it is at a plain yield.
uint64_t GeneratorReader::awaited_object(uint64_t frame, int raw_state) {
    bool in_yield_from = false;
    switch (l_.yield_from) {
        case YieldFromRule::NextOpcode: in_yield_from = next_instruction_is_yield_from(frame); break;
        case YieldFromRule::ResumeOparg: in_yield_from = resumes_after_yield_from(frame); break;
        case YieldFromRule::SuspendedYieldFrom:
            in_yield_from = raw_state == l_.generator_states.suspended_yield_from ||
                            raw_state == l_.generator_states.suspended_yield_from_locked;
            break;
    }
    if (!in_yield_from) return 0;
    const uint64_t awaited = awaited_stack_slot(frame);
    if (awaited == 0 || awaited % 8 != 0)
        throw bad_data("the frame at " + hex(frame) + " awaits an invalid object pointer " + hex(awaited), frame);
    return awaited;
}

// 3.8-3.10: a generator suspended in `yield from` has f_lasti one instruction before YIELD_FROM
// (the instruction re-executes on resume).
bool GeneratorReader::next_instruction_is_yield_from(uint64_t frame) {
    if (l_.value_stack_top == ValueStackTop::TopPointer && mem_.read_pointer(frame + l_.frame_stack_top) == 0)
        return false;  // f_stacktop is NULL: nothing is on hold
    int64_t lasti = mem_.read_value<int32_t>(frame + l_.frame_instruction);
    if (lasti < 0) return false;
    if (l_.instruction == InstructionPointer::LastiUnits) lasti *= kCodeUnitSize;
    uint64_t code = mem_.read_pointer(frame + l_.frame_code);
    objects_.require(code, BuiltinType::Code);
    const uint64_t bytecode = mem_.read_pointer(code + l_.code_bytecode);
    objects_.require(bytecode, BuiltinType::Bytes);
    const auto size = mem_.read_value<int64_t>(bytecode + l_.bytes_size);
    const int64_t next = lasti + kCodeUnitSize;
    if (next >= size) return false;
    return mem_.read_value<uint8_t>(bytecode + l_.bytes_data + static_cast<uint64_t>(next)) == l_.opcode_yield_from;
}

// 3.11, 3.12: after `yield from` / `await` the generator resumes at a RESUME whose oparg is 2
// (after yield from) or 3 (after await); prev_instr is the YIELD_VALUE before it.
bool GeneratorReader::resumes_after_yield_from(uint64_t frame) {
    const uint64_t prev_instr = mem_.read_pointer(frame + l_.frame_instruction);
    const auto unit = mem_.read_value<uint16_t>(prev_instr + kCodeUnitSize);
    const int opcode = unit & 0xff;
    const int oparg = unit >> 8;
    return oparg >= 2 &&
           std::find(l_.opcodes_resume.begin(), l_.opcodes_resume.end(), opcode) != l_.opcodes_resume.end();
}

// The awaited object's slot of a suspended frame's value stack (awaited_stack_slot from the top).
uint64_t GeneratorReader::awaited_stack_slot(uint64_t frame) {
    const auto slot = static_cast<uint64_t>(std::max(1, l_.awaited_stack_slot));
    switch (l_.value_stack_top) {
        case ValueStackTop::TopPointer: {
            const uint64_t top = mem_.read_pointer(frame + l_.frame_stack_top);
            if (top <= frame + 8 * slot || top - frame > 8 * kMaxStackSlots)
                throw bad_data("the frame at " + hex(frame) + " has an implausible stack top", frame);
            return mem_.read_pointer(top - 8 * slot);
        }
        case ValueStackTop::Depth: {
            const uint64_t base = mem_.read_pointer(frame + l_.frame_valuestack);
            const int64_t depth = mem_.read_value<int32_t>(frame + l_.frame_stack_top);
            if (depth < static_cast<int64_t>(slot) || depth > kMaxStackSlots)
                throw bad_data("the frame at " + hex(frame) + " has an implausible stack depth", frame);
            return mem_.read_pointer(base + 8 * (static_cast<uint64_t>(depth) - slot));
        }
        case ValueStackTop::LocalsPlusIndex: {
            const int64_t top = mem_.read_value<int32_t>(frame + l_.frame_stack_top);
            if (top < static_cast<int64_t>(slot) || top > kMaxStackSlots)
                throw bad_data("the frame at " + hex(frame) + " has an implausible stack top", frame);
            return mem_.read_pointer(frame + l_.frame_localsplus + 8 * (static_cast<uint64_t>(top) - slot));
        }
        case ValueStackTop::StackPointer: {
            const uint64_t top = mem_.read_pointer(frame + l_.frame_stack_top);
            const uint64_t base = frame + static_cast<uint64_t>(l_.frame_localsplus);
            if (top < base + 8 * slot || top - base > 8 * kMaxStackSlots || top % 8 != 0)
                throw bad_data("the frame at " + hex(frame) + " has an implausible stack pointer", frame);
            return mem_.read_pointer(top - 8 * slot) & ~l_.stackref_tag_mask;
        }
    }
    return 0;
}

}  // namespace stackscope
