#pragma once
// What a core records about its process beyond memory: who it was and what killed it.
#include <cstdint>
#include <optional>
#include <string>

namespace stackscope {

// The signal that made the kernel dump the process, on the thread that received it.
struct FatalSignal {
    int tid = 0;
    int number = 0;                   // si_signo
    int code = 0;                     // si_code
    std::optional<uint64_t> address;  // si_addr, for the faults that have one (SIGSEGV, SIGBUS, SIGILL, SIGFPE)
    std::optional<int> sender_pid;    // si_pid, for a signal sent by kill()/tgkill()
};

struct ProcessInfo {
    int pid = 0;
    std::optional<int> parent_pid;
    std::optional<uint32_t> uid;
    std::string command_line;  // NT_PRPSINFO pr_psargs: argv joined by spaces, cut at 80 bytes by the kernel
    std::string executable;    // AT_EXECFN as the process named it, "" when unreadable
    std::optional<FatalSignal> fatal_signal;
};

// "SIGSEGV", or "signal 70" for a number without a name.
std::string signal_name(int number);
// What si_code says, e.g. "address not mapped", "sent by tgkill() from pid 12"; "" when nothing useful.
std::string signal_cause(const FatalSignal& signal);

}  // namespace stackscope
