#pragma once
// Names of x86-64 Linux system calls, for saying which call a thread is blocked in.
#include <cstdint>
#include <optional>
#include <string_view>

namespace stackscope {

inline constexpr int64_t kSyscallFutex = 202;
// A wait with a timeout that a stop interrupted resumes as restart_syscall; its argument
// registers (rdi: a futex's address) are left as they were.
inline constexpr int64_t kSyscallRestart = 219;

// "clock_nanosleep" for 230; nullopt for a number the table does not know.
std::optional<std::string_view> syscall_name(int64_t number);
// Whether `name` is a system call's name ("poll"); libc names many wrappers after theirs.
bool is_syscall_name(std::string_view name);

}  // namespace stackscope
