#pragma once
// /proc/PID/task/TID/syscall: the system call a (non-running) thread is blocked in.
#include <cstdint>
#include <optional>
#include <string_view>

namespace stackscope {

struct ProcSyscall {
    int64_t number = -1;  // -1: the thread is running, or stopped in user code
    uint64_t arg0 = 0;
};

// Parses "running", "-1 SP PC" or "NR ARG1 ... ARG6 SP PC" (arguments in hex); nullopt
// for anything else.
std::optional<ProcSyscall> parse_proc_syscall(std::string_view text);

}  // namespace stackscope
