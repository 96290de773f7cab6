#pragma once
// Walks one thread's chain of Python frames and describes each frame.
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "model.hpp"
#include "object_reader.hpp"

namespace stackscope {

class FrameWalker {
public:
    static constexpr size_t kMaxFrames = 10000;
    static constexpr size_t kMaxLineTable = 1 << 20;

    // `exclusive_frames`: a frame may be on one thread's stack only (true of a stopped target
    // or a core; a running one may free a frame and reuse it on another thread mid-read).
    explicit FrameWalker(ObjectReader& objects, bool exclusive_frames = true)
        : objects_(objects), exclusive_frames_(exclusive_frames) {}

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
    Stack thread_stack(uint64_t thread_state, FrameChain* chain = nullptr);

    // Only the links of the thread's frame chain (bounded, cycle-safe; throws on bad data):
    // compared with a walk's chain, it tells whether a running thread's stack changed.
    FrameChain frame_chain(uint64_t thread_state);

    // The code references of the thread's newest `limit` Python frames (shims skipped),
    // without checking their types: anchors for learning the builtin types (type_anchors.hpp).
    // Stops quietly at the first unreadable frame.
    std::vector<uint64_t> frame_executables(uint64_t thread_state, size_t limit);

private:
    struct FirstArgument {
        bool is_class = false;            // named cls rather than self
        std::optional<int> cell_index;    // f_localsplus slot of its cell, when captured
    };

    struct CodeInfo {
        std::optional<FirstArgument> first_argument;
        std::string name;
        std::string qualname;
        std::string filename;
        int first_line = 0;
        std::vector<uint8_t> line_table;
    };

    uint64_t newest_frame(uint64_t thread_state);
    uint64_t code_of(uint64_t frame);
    std::optional<Frame> describe_frame(uint64_t frame);
    const CodeInfo& code_info(uint64_t code);
    std::optional<std::string> module_of(uint64_t globals);
    std::optional<FirstArgument> first_argument(uint64_t code);
    std::optional<std::string> class_of_first_argument(uint64_t frame, const CodeInfo& info);
    std::optional<int> line_at(const CodeInfo& info, int64_t code_unit);

    ObjectReader& objects_;
    std::unordered_map<uint64_t, CodeInfo> codes_;
    std::unordered_map<uint64_t, std::optional<std::string>> modules_;
    // The thread state whose stack each walked frame is on: with exclusive frames, garbage
    // chains that merge are walked once (linear, not quadratic, in the frames in memory).
    bool exclusive_frames_;
    std::unordered_map<uint64_t, uint64_t> frame_owners_;
};

}  // namespace stackscope
