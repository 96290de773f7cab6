#pragma once
// Pairing Python frames with the native frames of the interpreter's eval loop, for
// debuggers that show both: which native functions run Python frames, and which Python
// frames each such call runs.
#include <string_view>
#include <vector>

#include "model.hpp"

namespace stackscope {

enum class NativeFrameRole {
    EvalLoopEntry,     // one C-level eval-loop call: runs a group of Python frames
    EvalLoopInternal,  // part of the eval loop (3.14+ tail-calling opcode handlers)
    Other,
};

// The role of a native frame, from its function's symbol name.
NativeFrameRole classify_native_function(std::string_view symbol);

// The stack's Python frames grouped by the eval-loop call that runs them: the newest call
// first, and within a group the newest frame first. A group ends with its entry frame.
std::vector<std::vector<const Frame*>> frames_by_eval_call(const Stack& stack);

}  // namespace stackscope
