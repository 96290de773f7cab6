#pragma once
// One frame as libdwfl unwinds it: a pc, before symbols and inline frames are known.
#include <cstdint>

namespace stackscope {

struct PhysicalFrame {
    uint64_t pc = 0;
    bool activation = false;  // pc is where the frame is (the newest frame, a signal frame), not a return address

    // The address inside the call instruction for a caller (a return address may already be
    // the next function's first byte, or the next line's).
    uint64_t lookup_pc() const { return activation || pc == 0 ? pc : pc - 1; }
};

}  // namespace stackscope
