#include "stackscope/eval_calls.hpp"

#include <algorithm>

namespace stackscope {

NativeFrameRole classify_native_function(std::string_view symbol) {
    // Compilers append suffixes to clones (_PyEval_EvalFrameDefault.cold, .constprop.0).
    const std::string_view base = symbol.substr(0, symbol.find('.'));
    if (base == "_PyEval_EvalFrameDefault") return NativeFrameRole::EvalLoopEntry;
    // 3.14+ tail-calling builds run each opcode in its own function, called (by tail call)
    // from _PyEval_EvalFrameDefault; the frame on the stack is the current opcode's.
    if (base.starts_with("_TAIL_CALL_")) return NativeFrameRole::EvalLoopInternal;
    return NativeFrameRole::Other;
}

std::vector<std::vector<const Frame*>> frames_by_eval_call(const Stack& stack) {
    std::vector<std::vector<const Frame*>> calls;
    std::vector<const Frame*> current;
    for (auto it = stack.frames.rbegin(); it != stack.frames.rend(); ++it) {
        current.push_back(&*it);
        if (it->entry) {
            calls.push_back(std::move(current));
            current.clear();
        }
    }
    // Frames older than the last entry frame (an incomplete stack) form a last group.
    if (!current.empty()) calls.push_back(std::move(current));
    return calls;
}

std::vector<std::pair<uint64_t, uint64_t>> native_stacks(std::span<const std::optional<uint64_t>> stack_pointers) {
    std::vector<std::pair<uint64_t, uint64_t>> out;
    out.reserve(stack_pointers.size());
    for (size_t i = 0; i < stack_pointers.size(); ++i) {
        const std::optional<uint64_t> low = stack_pointers[i];
        const std::optional<uint64_t> high =
            i + 1 < stack_pointers.size() ? stack_pointers[i + 1] : std::optional<uint64_t>(UINT64_MAX);
        out.emplace_back(low && high ? std::make_pair(*low, *high) : std::make_pair(uint64_t{0}, uint64_t{0}));
    }
    return out;
}

std::vector<size_t> eval_loop_frames(std::span<const NativeFrame> natives) {
    auto role = [natives](size_t i) {
        return i < natives.size() ? classify_native_function(natives[i].symbol) : NativeFrameRole::Other;
    };
    std::vector<size_t> out;
    for (size_t i = 0; i < natives.size(); ++i) {
        // An entry frame is one call (an entry frame right below it is another: 3.8-3.10 run
        // each Python frame in its own call). Internal frames belong to the entry frame below
        // them; a run of them without one is a call of its own, counted on its oldest frame.
        const bool ends_run = role(i + 1) == NativeFrameRole::Other;
        if (role(i) == NativeFrameRole::EvalLoopEntry || (role(i) == NativeFrameRole::EvalLoopInternal && ends_run))
            out.push_back(i);
    }
    return out;
}

namespace {

using Placement = std::vector<std::optional<size_t>>;

// Each call in the native frame whose stack holds its entry frame's eval_stack_address (3.12+:
// the call's shim frame is on its C stack): needs no symbols (stripped interpreters).
std::optional<Placement> place_by_stack(std::span<const NativeFrame> natives,
                                        const std::vector<std::vector<const Frame*>>& calls) {
    Placement out(natives.size());
    for (size_t k = 0; k < calls.size(); ++k) {
        const uint64_t anchor = calls[k].back()->eval_stack_address;
        const auto native = std::find_if(natives.begin(), natives.end(), [anchor](const NativeFrame& n) {
            return n.stack_low <= anchor && anchor < n.stack_high;
        });
        if (anchor == 0 || native == natives.end()) return std::nullopt;
        std::optional<size_t>& slot = out[static_cast<size_t>(native - natives.begin())];
        if (slot) return std::nullopt;  // two calls in one frame: the ranges are wrong
        slot = k;
    }
    return out;
}

}  // namespace

std::optional<Placement> place_eval_calls(std::span<const NativeFrame> natives, const Stack& stack) {
    const auto calls = frames_by_eval_call(stack);
    if (auto by_stack = place_by_stack(natives, calls)) return by_stack;
    // By symbol, only when the debugger names exactly as many eval-loop calls as there are:
    // a stripped interpreter may name some parts of its eval loop and not others (Debian's
    // 3.14: not its .cold part), and a wrong pairing would mislead.
    const std::vector<size_t> hosts = eval_loop_frames(natives);
    if (hosts.size() != calls.size()) return std::nullopt;
    Placement out(natives.size());
    for (size_t k = 0; k < calls.size(); ++k) out[hosts[k]] = k;
    return out;
}

}  // namespace stackscope
