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

    explicit FrameWalker(ObjectReader& objects) : objects_(objects) {}

    // The thread's frames, outermost first. A read error ends the walk: the frames read so
    // far are kept and the error is recorded in the stack.
    Stack thread_stack(uint64_t thread_state);

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
    std::optional<Frame> describe_frame(uint64_t frame);
    const CodeInfo& code_info(uint64_t code);
    std::optional<std::string> module_of(uint64_t globals);
    std::optional<FirstArgument> first_argument(uint64_t code);
    std::optional<std::string> class_of_first_argument(uint64_t frame, const CodeInfo& info);
    std::optional<int> line_at(const CodeInfo& info, int64_t code_unit);

    ObjectReader& objects_;
    std::unordered_map<uint64_t, CodeInfo> codes_;
    std::unordered_map<uint64_t, std::optional<std::string>> modules_;
    // Every frame walked by this walker: no frame is on two threads' stacks, and garbage
    // chains that merge are walked once (linear, not quadratic, in the frames in memory).
    std::unordered_set<uint64_t> walked_frames_;
};

}  // namespace stackscope
