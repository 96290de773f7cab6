#include "eval_calls.hpp"

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

}  // namespace stackscope
