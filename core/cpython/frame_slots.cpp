#include "cpython/frame_slots.hpp"

#include <unordered_set>

#include "cpython/code_variables.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

std::vector<uint64_t> FrameSlots::objects(uint64_t frame) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    const uint64_t code = frames_.code_of(frame);
    const auto stack_size = mem.read_value<int32_t>(code + static_cast<uint64_t>(l.code_stacksize));
    if (stack_size < 0 || static_cast<uint64_t>(stack_size) > kMaxSlots)
        throw bad_data("the code object at " + hex(code) + " claims a stack of " + std::to_string(stack_size));
    const uint64_t base = frame + static_cast<uint64_t>(l.frame_localsplus);
    uint64_t stack = 0;
    if (l.frame_valuestack != kAbsent) {
        stack = mem.read_pointer(frame + static_cast<uint64_t>(l.frame_valuestack));
    } else {
        const auto variables = mem.read_value<int32_t>(code + static_cast<uint64_t>(l.code_nlocalsplus));
        if (variables < 0 || static_cast<uint64_t>(variables) > kMaxSlots)
            throw bad_data("the code object at " + hex(code) + " claims " + std::to_string(variables) + " locals");
        stack = base + 8 * static_cast<uint64_t>(variables);
    }
    const uint64_t end = stack + 8 * static_cast<uint64_t>(stack_size);
    if (stack < base || end < stack || (end - base) / 8 > kMaxSlots)
        throw bad_data("the frame at " + hex(frame) + " has its value stack outside it");
    const std::vector<uint8_t> bytes = mem.read_bytes(base, end - base);
    std::vector<uint64_t> out;
    std::unordered_set<uint64_t> seen;
    auto add = [&](uint64_t value) {
        if (value && seen.insert(value).second) out.push_back(value);
    };
    for (size_t at = 0; at + 8 <= bytes.size(); at += 8) {
        uint64_t value = 0;
        for (size_t b = 0; b < 8; ++b) value |= uint64_t{bytes[at + b]} << (8 * b);
        value &= ~l.stackref_tag_mask;
        if (!value) continue;
        add(value);
        // A stale slot may point anywhere: what it points to is read only to follow it.
        try {
            if (objects_.is_instance_or_named(value, BuiltinType::Method, "method"))
                add(mem.read_pointer(value + static_cast<uint64_t>(l.method_self)));
            else if (objects_.is_builtin_function(value))
                add(mem.read_pointer(value + static_cast<uint64_t>(l.cfunction_self)));
            else if (objects_.is_instance_or_named(value, BuiltinType::Cell, "cell"))
                add(mem.read_pointer(value + static_cast<uint64_t>(l.cell_ref)));
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
        }
    }
    return out;
}

uint64_t FrameSlots::first_argument(uint64_t frame) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    try {
        const uint64_t code = frames_.code_of(frame);
        if (mem.read_value<int32_t>(code + static_cast<uint64_t>(l.code_argcount)) <= 0) return 0;
        uint64_t value = mem.read_pointer(frame + static_cast<uint64_t>(l.frame_localsplus)) & ~l.stackref_tag_mask;
        if (!value) {
            // 3.8-3.10: an argument a closure captures lives in its cell after the locals; its own
            // slot is empty (3.11+ keep the cell in the argument's slot).
            const CodeVariables variables = CodeVariablesReader(objects_).read(code);
            if (variables.shown.empty() || !variables.shown[0].in_cell) return 0;
            value = mem.read_pointer(frame + static_cast<uint64_t>(l.frame_localsplus) + 8 * variables.shown[0].slot) &
                    ~l.stackref_tag_mask;
        }
        if (value && objects_.is_instance_or_named(value, BuiltinType::Cell, "cell"))
            value = mem.read_pointer(value + static_cast<uint64_t>(l.cell_ref));
        return value;
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::Internal) throw;
        return 0;
    }
}

}  // namespace stackscope
