#pragma once
// Where each native frame's stack lies, [sp, the caller's sp), so that the eval-loop calls'
// stack addresses place the Python frames (eval_calls.hpp) without symbols. libdwfl (0.188)
// does not give a frame's registers, so sp and rbp are followed here from the same CFI
// (frame pointers where there is none), and each step is checked against the return address
// libdwfl found: from the first disagreement on, the stacks are unknown (0, 0).
#include <elfutils/libdwfl.h>

#include <array>
#include <span>
#include <vector>

#include "native/physical_frame.hpp"
#include "stackscope/target.hpp"
#include "target/remote_memory.hpp"

namespace stackscope {

struct StackRange {
    uint64_t low = 0;
    uint64_t high = 0;
};

// One range per frame (newest first); the oldest frame's runs to the top of memory.
std::vector<StackRange> frame_stacks(Dwfl* dwfl, RemoteMemory& memory,
                                     const std::array<uint64_t, kDwarfRegisterCount>& registers,
                                     std::span<const PhysicalFrame> frames);

}  // namespace stackscope
