// One thread's stack with its native frames interleaved (the debugger's, or --native's): the
// same tree as format_stack_tree, with a `[native] ...` line per native frame and each
// eval-loop call's Python frames right after the native frame that runs it.
#include "stackscope/eval_calls.hpp"
#include "stackscope/formatters.hpp"
#include "render/native_text.hpp"
#include "render/printable.hpp"
#include "render/snapshot_text.hpp"
#include "render/stack_tree.hpp"

namespace stackscope {

namespace {

Stack frames_only(const Stack& stack) {
    Stack out;
    out.frames = stack.frames;
    return out;
}

Stack error_only(const Stack& stack) {
    Stack out;
    out.error = stack.error;
    return out;
}

}  // namespace

namespace {

// A tree without its `stackscope.Stack ...` heading line.
std::string tree_body(const Stack& stack, const TreeOptions& options) {
    const std::string text = format_stack_tree(stack, options);
    return text.substr(text.find('\n') + 1);
}

// One call's frames (newest first in `call`) as a stack, outermost first.
Stack call_stack(const std::vector<const Frame*>& call) {
    Stack run;
    for (auto f = call.rbegin(); f != call.rend(); ++f) run.frames.push_back(**f);
    return run;
}

}  // namespace

std::string format_stack_with_natives(const Stack& stack, std::span<const NativeLine> natives,
                                      const NativeTreeOptions& options) {
    std::vector<NativeFrame> frames;
    for (const NativeLine& n : natives) frames.push_back(n.frame);
    const auto calls = frames_by_eval_call(stack);
    const auto placed = place_eval_calls(frames, stack);
    std::string out = "stackscope.Stack with native frames (most recent call last):\n";
    if (options.native_error) out += "  (native frames: " + printable(*options.native_error) + ")\n";
    if (!placed) {
        out += "  (Python frames not placed: " + options.debugger + "'s backtrace names " +
               std::to_string(eval_loop_frames(frames).size()) + " eval-loop frames for " +
               std::to_string(calls.size()) + " eval-loop calls)\n";
        out += tree_body(frames_only(stack), options.tree);
    }
    for (size_t i = natives.size(); i-- > 0;) {
        if (!(placed && natives[i].replaced))
            out += (options.tree.ascii ? "+ [native] " : "╠ [native] ") + printable(natives[i].text) + "\n";
        if (placed && (*placed)[i]) out += tree_body(call_stack(calls[*(*placed)[i]]), options.tree);
    }
    return out + tree_body(error_only(stack), options.tree);
}

std::string format_snapshot_tree_with_natives(const Snapshot& snapshot, const TreeOptions& options, bool all) {
    return format_snapshot_text(
        snapshot, [&](std::string& out, const Stack& stack) { append_stack_tree(out, stack, options); }, options.color,
        TaskLayout::Nested,
        [&](const Thread& thread) {
            return format_stack_with_natives(thread.stack, native_lines(thread, all),
                                             {options, "stackscope", thread.native_error});
        });
}

}  // namespace stackscope
