#pragma once
// Walks a thread's chain of Python frames, newest to oldest, reading each with FrameReader.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cpython/chain_guard.hpp"
#include "cpython/frame_reader.hpp"
#include "stackscope/model.hpp"
#include "cpython/object_reader.hpp"

namespace stackscope {

class ThreadStackWalker {
public:
    // `exclusive_frames`: a frame may be on one thread's stack only (true of a stopped target
    // or a core; a running one may free a frame and reuse it on another thread mid-read).
    // Checked across every thread walked by this walker, so that garbage chains that merge are
    // walked once (linear, not quadratic, in the frames in memory).
    ThreadStackWalker(ObjectReader& objects, FrameReader& frames, bool exclusive_frames = true)
        : mem_(objects.memory()), l_(objects.layout()), frames_(frames), exclusive_frames_(exclusive_frames) {}

    // Each frame of a chain (newest first) with the executable word it held.
    struct ChainLink {
        uint64_t frame = 0;
        uint64_t executable = 0;
        bool operator==(const ChainLink&) const = default;
    };
    using FrameChain = std::vector<ChainLink>;

    // The thread's frames, outermost first. A read error ends the walk: the frames read so
    // far are kept and the error is recorded in the stack. `chain`, when given, receives
    // the links the walk followed.
    Stack stack(uint64_t thread_state, FrameChain* chain = nullptr);

    // Only the links of the thread's frame chain (bounded, cycle-safe; throws on bad data):
    // compared with a walk's chain, it tells whether a running thread's stack changed.
    FrameChain chain(uint64_t thread_state);

    // The code references of the thread's newest `limit` Python frames (shims skipped),
    // without checking their types: anchors for learning the builtin types (type_anchors.hpp).
    // Stops quietly at the first unreadable frame.
    std::vector<uint64_t> newest_code_references(uint64_t thread_state, size_t limit);

private:
    uint64_t newest_frame(uint64_t thread_state);

    RemoteMemory& mem_;
    const PythonLayout& l_;
    FrameReader& frames_;
    bool exclusive_frames_;
    std::unordered_map<uint64_t, uint64_t> frame_owners_;  // frame -> the thread state whose stack it is on
};

}  // namespace stackscope
