#include "target/user_registers.hpp"

namespace stackscope {

std::array<uint64_t, kDwarfRegisterCount> dwarf_registers(std::span<const uint64_t, kUserRegsCount> user_regs) {
    // For each DWARF register 0-16 (rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8-r15, rip), its
    // field in user_regs_struct (r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx,
    // rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ...).
    constexpr std::array<size_t, kDwarfRegisterCount> kField{10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16};
    std::array<uint64_t, kDwarfRegisterCount> out{};
    for (size_t i = 0; i < kDwarfRegisterCount; ++i) out[i] = user_regs[kField[i]];
    return out;
}

}  // namespace stackscope
