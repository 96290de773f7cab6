#pragma once
// A running process on this machine. By default every thread is stopped with
// PTRACE_SEIZE + PTRACE_INTERRUPT while the process is read, and detached again in
// detach() or the destructor, whichever comes first. Installs no signal handlers.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "stackscope/target.hpp"

namespace stackscope {

class TracerThread;

class LiveProcess final : public Target {
public:
    struct Options {
        bool stop_threads = true;
        // false reads through /proc/PID/mem only (what is used when process_vm_readv fails).
        bool use_process_vm_readv = true;
    };

    LiveProcess(int pid, Options options);
    ~LiveProcess() override;
    LiveProcess(const LiveProcess&) = delete;
    LiveProcess& operator=(const LiveProcess&) = delete;

    // Resumes every thread this object stopped. Safe to call more than once.
    void detach() noexcept;
    // True while threads stopped by this object are held.
    bool holds_threads() const { return !attached_.empty(); }

    size_t read(uint64_t address, std::span<uint8_t> out) override;
    bool concurrent_reads() const override { return true; }
    const std::vector<MemoryRegion>& regions() const override { return regions_; }
    std::vector<TargetThread> threads() const override;
    int pid() const override { return pid_; }
    std::optional<std::string> local_file(const std::string& mapped_path) const override;
    std::string source_root() const override;
    int host_tid(int tid_in_target) const override;

private:
    struct Attached {
        bool stopped = false;  // false: seized, but it did not stop in time (e.g. in D state)
        std::optional<uint64_t> fs_base;
        std::optional<std::array<uint64_t, kDwarfRegisterCount>> registers;
        int pending_signal = 0;  // a signal that arrived while stopping; re-delivered on detach
    };
    void stop_all_threads();
    void detach_all() noexcept;
    // Waits (until `deadline`) for the seized thread's stop; false when it exited.
    bool wait_for_stop(int tid, Attached& state, std::chrono::steady_clock::time_point deadline);
    std::vector<int> list_threads() const;
    // Thread ids in the target's own PID namespace -> ours, when the two differ (NSpid).
    std::map<int, int> namespace_tids() const;

    int pid_;
    // read() may run on two threads: the fallback to /proc/PID/mem is decided and opened once.
    std::atomic<bool> use_vm_readv_ = true;
    std::mutex mem_fd_mutex_;
    int mem_fd_ = -1;
    std::vector<MemoryRegion> regions_;
    std::map<int, Attached> attached_;
    // Attaches and detaches (ptrace's tracer), from the stop to the end of detach().
    std::unique_ptr<TracerThread> tracer_;
    bool tracer_ending_ = false;  // told to end by detach()
    bool in_other_pid_namespace_ = false;
    mutable std::map<int, int> host_tids_;  // the target's tids -> ours; refreshed when one is missing
};

}  // namespace stackscope
