#pragma once
// The kernel's x86-64 register set (struct user_regs_struct, as ptrace returns it and a core's
// NT_PRSTATUS holds it) in the DWARF numbering native unwinding uses.
#include <array>
#include <cstdint>
#include <span>

#include "stackscope/target.hpp"

namespace stackscope {

// user_regs_struct's 27 eight-byte fields; rdi (14), orig_rax (15) and fs_base (21) are the
// ones read besides the DWARF registers.
inline constexpr size_t kUserRegsCount = 27;
inline constexpr size_t kUserRegRdi = 14;
inline constexpr size_t kUserRegOrigRax = 15;
inline constexpr size_t kUserRegFsBase = 21;

std::array<uint64_t, kDwarfRegisterCount> dwarf_registers(std::span<const uint64_t, kUserRegsCount> user_regs);

}  // namespace stackscope
