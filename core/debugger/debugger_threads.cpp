#include <cstring>
#include <unordered_map>

#include "stackscope/debugger.hpp"
#include "target/syscall_names.hpp"

namespace stackscope {

std::optional<uint64_t> pthread_from_handle(std::span<const uint8_t> handle) {
    if (handle.size() != sizeof(uint64_t)) return std::nullopt;
    uint64_t value = 0;
    for (size_t i = 0; i < handle.size(); ++i) value |= static_cast<uint64_t>(handle[i]) << (8 * i);
    return value;
}

KernelView kernel_view_from_registers(uint64_t orig_rax, uint64_t rdi) {
    // orig_rax holds the system call's number while the thread is in one, and -1 (all ones)
    // otherwise; a debugger shows it as a signed or an unsigned 64-bit value.
    return KernelView{static_cast<int64_t>(orig_rax), rdi};
}

bool needs_registers(uint64_t orig_rax) { return kernel_view_from_registers(orig_rax, 0).syscall == kSyscallRestart; }

std::vector<TargetThread> merge_kernel_view(const std::vector<DebuggerThread>& threads,
                                            const std::vector<TargetThread>& kernel) {
    std::unordered_map<int, const TargetThread*> by_tid;
    for (const TargetThread& k : kernel) by_tid.emplace(k.tid, &k);
    std::vector<TargetThread> out;
    out.reserve(threads.size());
    for (const DebuggerThread& d : threads) {
        TargetThread t{d.tid, d.pthread_id};
        const auto k = by_tid.find(d.tid);
        if (!t.pthread_id && k != by_tid.end()) t.pthread_id = k->second->pthread_id;
        // The debugger's, else a core's: a thread in restart_syscall is named by them.
        t.registers = d.registers ? d.registers : (k != by_tid.end() ? k->second->registers : std::nullopt);
        if (d.syscall) {
            t.syscall = d.syscall;
            t.syscall_arg0 = d.syscall_arg0;
        } else if (k != by_tid.end()) {
            t.syscall = k->second->syscall;
            t.syscall_arg0 = k->second->syscall_arg0;
        }
        out.push_back(t);
    }
    return out;
}

void number_threads(Snapshot& snapshot, const std::vector<DebuggerThread>& threads) {
    for (Thread& t : snapshot.threads) {
        t.debugger_thread.reset();
        for (const DebuggerThread& d : threads) {
            if (t.tid && *t.tid == d.tid) {
                t.debugger_thread = d.number;
                break;
            }
        }
        if (t.debugger_thread || !t.pthread_id) continue;
        for (const DebuggerThread& d : threads) {
            if (d.pthread_id && *d.pthread_id == *t.pthread_id) {
                t.debugger_thread = d.number;
                break;
            }
        }
    }
}

std::vector<size_t> threads_numbered(const Snapshot& snapshot, int number) {
    std::vector<size_t> out;
    for (size_t i = 0; i < snapshot.threads.size(); ++i) {
        if (snapshot.threads[i].debugger_thread == number) out.push_back(i);
    }
    return out;
}

}  // namespace stackscope
