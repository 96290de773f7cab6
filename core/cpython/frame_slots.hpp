#pragma once
// Every object a frame refers to from its own memory: its variables (a cell's contents too) and
// its value stack's slots up to co_stacksize, those above the current top included (stale:
// they are only clues, to be matched against something exact), and the `self` of each bound
// method found there (a `with` keeps its manager's bound __exit__; a call its bound method).
#include <cstdint>
#include <vector>

#include "cpython/frame_reader.hpp"
#include "cpython/object_reader.hpp"

namespace stackscope {

class FrameSlots {
public:
    static constexpr uint64_t kMaxSlots = 1 << 14;

    FrameSlots(ObjectReader& objects, FrameReader& frames) : objects_(objects), frames_(frames) {}

    // The distinct non-NULL references, in slot order; throws Error when the frame or its code
    // cannot be read.
    std::vector<uint64_t> objects(uint64_t frame);
    // The frame's first argument (`self` of a method), its cell's contents; 0 when none.
    uint64_t first_argument(uint64_t frame);

private:
    ObjectReader& objects_;
    FrameReader& frames_;
};

}  // namespace stackscope
