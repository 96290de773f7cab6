#pragma once
// The checks one walk of a frame chain makes on each frame it reaches: aligned, not reached
// before in this walk, and within the bound. Each walk has its own guard, so that a frame
// reached by two walks (a coroutine's, from its thread and from its task) is read by both.
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

class ChainGuard {
public:
    static constexpr size_t kMaxFrames = 10000;

    // Throws bad_data when `frame` cannot be the next frame of this walk.
    void enter(uint64_t frame) {
        if (frame % 8 != 0) throw bad_data("misaligned frame pointer " + hex(frame), frame);
        if (!visited_.insert(frame).second) throw bad_data("the frame chain loops at " + hex(frame), frame);
        if (visited_.size() > kMaxFrames) throw bad_data("more than " + std::to_string(kMaxFrames) + " frames", frame);
    }
    // The same checks, as a question (for walks that stop quietly).
    bool try_enter(uint64_t frame) {
        return frame % 8 == 0 && visited_.size() < kMaxFrames && visited_.insert(frame).second;
    }

private:
    std::unordered_set<uint64_t> visited_;
};

}  // namespace stackscope
