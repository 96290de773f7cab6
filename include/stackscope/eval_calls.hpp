#pragma once
// Pairing Python frames with the native frames of the interpreter's eval loop, for
// debuggers that show both: which native functions run Python frames, and which Python
// frames each such call runs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "stackscope/model.hpp"

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

// A debugger's native frame, as far as placing Python frames needs it.
struct NativeFrame {
    std::string_view symbol;  // its function's symbol, "" when unknown
    uint64_t stack_low = 0;   // its stack: [sp, the caller's sp or its CFA); 0, 0 when unknown
    uint64_t stack_high = 0;
};

// The stacks [low, high) of a debugger's frames (newest first) from their stack pointers
// (nullopt when unknown): a frame's stack runs from its sp to its caller's sp, the oldest
// frame's to the top of memory; 0, 0 when either pointer is unknown.
std::vector<std::pair<uint64_t, uint64_t>> native_stacks(std::span<const std::optional<uint64_t>> stack_pointers);

// The native frames (newest first) that run one eval-loop call each, by symbol: every
// eval-loop entry frame, with the internal frames just above it (newer); a run of internal
// frames with no entry frame below it counts on its oldest frame.
std::vector<size_t> eval_loop_frames(std::span<const NativeFrame> natives);

// Where each eval-loop call of frames_by_eval_call(stack) runs among `natives` (newest
// first): for each native frame the index of the call it runs, or nullopt. Every call is
// placed, or none: nullopt as a whole when they cannot be placed reliably (a front-end then
// lists the Python frames unplaced). Placed by the stack, where every call's entry frame has
// an eval_stack_address and each lies in a different native frame's stack; else by symbol,
// in order, when eval_loop_frames finds as many frames as there are calls.
std::optional<std::vector<std::optional<size_t>>> place_eval_calls(std::span<const NativeFrame> natives,
                                                                   const Stack& stack);

}  // namespace stackscope
