#include "cpython/thread_stack.hpp"

#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

uint64_t ThreadStackWalker::newest_frame(uint64_t thread_state) {
    switch (l_.top_frame) {
        case TopFrameSource::ThreadStateFrame:
        case TopFrameSource::ThreadStateCurrentFrame: return mem_.read_pointer(thread_state + l_.tstate_frame);
        case TopFrameSource::CFrameCurrentFrame: {
            const uint64_t cframe = mem_.read_pointer(thread_state + l_.tstate_frame);
            return cframe ? mem_.read_pointer(cframe + l_.cframe_current_frame) : 0;
        }
    }
    return 0;
}

ThreadStackWalker::FrameChain ThreadStackWalker::chain(uint64_t thread_state) {
    FrameChain out;
    ChainGuard guard;
    for (uint64_t frame = newest_frame(thread_state); frame != 0; frame = frames_.previous(frame)) {
        try {
            guard.enter(frame);
        } catch (const Error&) {
            throw bad_data("the frame chain is inconsistent at " + hex(frame), frame);
        }
        out.push_back({frame, mem_.read_pointer(frame + l_.frame_code)});
    }
    return out;
}

std::vector<uint64_t> ThreadStackWalker::newest_code_references(uint64_t thread_state, size_t limit) {
    std::vector<uint64_t> out;
    ChainGuard guard;
    try {
        for (uint64_t frame = newest_frame(thread_state); frame != 0 && out.size() < limit;
             frame = frames_.previous(frame)) {
            if (!guard.try_enter(frame)) break;
            if (frames_.is_shim(frame)) continue;
            if (const uint64_t code = frames_.code_of(frame)) out.push_back(code);
        }
    } catch (const Error&) {
        // the anchors read so far stand
    }
    return out;
}

Stack ThreadStackWalker::stack(uint64_t thread_state, FrameChain* chain) {
    Stack stack;
    stack.root = StackRoot{StackRootKind::Thread, thread_state, "", std::nullopt, std::nullopt};
    std::vector<Frame> newest_first;
    ChainGuard guard;
    bool newer_frame_described = false;  // the frame just newer than this one is newest_first.back()
    try {
        for (uint64_t frame = newest_frame(thread_state); frame != 0; frame = frames_.previous(frame)) {
            guard.enter(frame);
            if (exclusive_frames_) {
                const auto [owner, fresh] = frame_owners_.emplace(frame, thread_state);
                if (!fresh && owner->second != thread_state) {
                    throw bad_data("the frame at " + hex(frame) + " is on another thread's stack too", frame);
                }
            }
            if (chain) chain->push_back({frame, mem_.read_pointer(frame + l_.frame_code)});
            if (frames_.is_shim(frame)) {
                // A C-stack shim: the Python frame just newer than it was entered from C.
                if (newer_frame_described) {
                    newest_first.back().entry = true;
                    newest_first.back().eval_stack_address = frame;
                }
                newer_frame_described = false;
                continue;
            }
            newer_frame_described = frames_.read(frame, newest_first);
        }
    } catch (const Error& e) {
        stack.error = ExtractionError::from(e);
    }
    stack.frames.assign(std::make_move_iterator(newest_first.rbegin()), std::make_move_iterator(newest_first.rend()));
    return stack;
}

}  // namespace stackscope
