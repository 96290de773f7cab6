#include "stackscope/live_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

#include "stackscope/error.hpp"
#include "target/proc_maps.hpp"
#include "target/proc_syscall.hpp"
#include "target/tracer_thread.hpp"
#include "target/user_registers.hpp"

namespace stackscope {

namespace {

std::optional<std::string> read_text_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string status_field(const std::string& status, const std::string& key) {
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + ":", 0) == 0) {
            const size_t start = line.find_first_not_of(" \t", key.size() + 1);
            return start == std::string::npos ? "" : line.substr(start);
        }
    }
    return "";
}

bool file_exists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

bool is_zombie(int pid, int tid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t paren = text.rfind(')');
    return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

// The ids of an NSpid line ("NSpid:\t4321\t7"): ours first, the target's innermost last.
std::vector<int> namespace_ids(const std::string& status) {
    std::vector<int> ids;
    std::istringstream in(status_field(status, "NSpid"));
    int id = 0;
    while (in >> id) ids.push_back(id);
    return ids;
}

// The process a tracer thread (a TracerPid, which names the tracing thread) belongs to: a
// debugger, or another stackscope, traces from a thread of its own.
std::string tracer_process(const std::string& tracer_tid) {
    const auto status = read_text_file("/proc/" + tracer_tid + "/status");
    const std::string tgid = status ? status_field(*status, "Tgid") : "";
    return tgid.empty() ? tracer_tid : tgid;
}

// The kernel's view of what the thread is doing (read while it is stopped, or as it is).
TargetThread kernel_thread(int pid, int tid, std::optional<uint64_t> pthread_id,
                           const std::optional<std::array<uint64_t, kDwarfRegisterCount>>& registers) {
    TargetThread t;
    t.tid = tid;
    t.pthread_id = pthread_id;
    t.registers = registers;
    const auto text = read_text_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
    if (const auto syscall = text ? parse_proc_syscall(*text) : std::nullopt) {
        t.syscall = syscall->number;
        t.syscall_arg0 = syscall->arg0;
    }
    return t;
}

}  // namespace

LiveProcess::LiveProcess(int pid, Options options) : pid_(pid), use_vm_readv_(options.use_process_vm_readv) {
    if (pid <= 0) throw Error(ErrorKind::Usage, "invalid pid " + std::to_string(pid));
    // Started first: it gets going while the process's status and memory map are read here.
    if (options.stop_threads) tracer_ = std::make_unique<TracerThread>();
    const std::string proc = "/proc/" + std::to_string(pid);
    const auto status = read_text_file(proc + "/status");
    if (!status) throw Error(ErrorKind::NoSuchTarget, "no process with pid " + std::to_string(pid));
    const auto maps = read_text_file(proc + "/maps");
    if (!maps) throw Error(ErrorKind::PermissionDenied, "cannot read " + proc + "/maps: " + std::strerror(errno));
    regions_ = parse_proc_maps(*maps);
    if (regions_.empty()) {
        throw Error(ErrorKind::PermissionDenied, "process " + std::to_string(pid) +
                                                     " has no readable memory map (a kernel thread, or no permission)");
    }
    // An already-stopped process (SIGSTOP, job control) is read as it is and left stopped.
    const bool already_stopped = status_field(*status, "State").rfind("T", 0) == 0;
    // Reading without stopping (e.g. from a debugger that already traces it) needs no attach.
    const std::string tracer = status_field(*status, "TracerPid");
    if (options.stop_threads && !tracer.empty() && tracer != "0") {
        throw Error(ErrorKind::PermissionDenied,
                    "process " + std::to_string(pid) + " is already traced by PID " + tracer_process(tracer));
    }
    // Before stopping anything: nothing may throw between the stop and the object's completion.
    in_other_pid_namespace_ = namespace_ids(*status).size() > 1;
    if (in_other_pid_namespace_) host_tids_ = namespace_tids();
    if (!already_stopped && tracer_) {
        try {
            tracer_->run([this] { stop_all_threads(); });
        } catch (...) {
            detach();  // the destructor does not run for a half-built object
            throw;
        }
    } else {
        tracer_.reset();  // nothing to attach
    }
}

std::map<int, int> LiveProcess::namespace_tids() const {
    std::map<int, int> out;
    for (int tid : list_threads()) {
        const auto status =
            read_text_file("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid) + "/status");
        if (!status) continue;
        const std::vector<int> ids = namespace_ids(*status);
        if (ids.size() > 1) out[ids.back()] = ids.front();
    }
    return out;
}

int LiveProcess::host_tid(int tid_in_target) const {
    if (!in_other_pid_namespace_) return tid_in_target;
    if (!host_tids_.count(tid_in_target)) host_tids_ = namespace_tids();  // started since (a running read)
    const auto it = host_tids_.find(tid_in_target);
    return it == host_tids_.end() ? tid_in_target : it->second;
}

LiveProcess::~LiveProcess() {
    detach();
    if (mem_fd_ >= 0) ::close(mem_fd_);
}

std::vector<int> LiveProcess::list_threads() const {
    std::vector<int> tids;
    const std::string dir = "/proc/" + std::to_string(pid_) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d) return tids;
    while (dirent* e = readdir(d)) {
        char* end = nullptr;
        const long tid = std::strtol(e->d_name, &end, 10);
        if (end && *end == '\0' && tid > 0) tids.push_back(static_cast<int>(tid));
    }
    closedir(d);
    return tids;
}

bool LiveProcess::wait_for_stop(int tid, Attached& state, std::chrono::steady_clock::time_point deadline) {
    do {
        int status = 0;
        const pid_t got = ::waitpid(tid, &status, __WALL | WNOHANG);
        if (got < 0) return false;  // ECHILD: the thread is gone
        if (got == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(50));
            continue;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) return false;
        if (!WIFSTOPPED(status)) continue;
        // Under PTRACE_SEIZE our interrupt reports PTRACE_EVENT_STOP; any other stop is the
        // delivery of a real signal (SIGTRAP included): the thread is stopped too, and the
        // signal is handed back on detach.
        if ((status >> 16) == 0) state.pending_signal = WSTOPSIG(status);
        state.stopped = true;
        return true;
    } while (std::chrono::steady_clock::now() < deadline);
    return true;  // still running: kept seized (not stopped) and released by detach()
}

void LiveProcess::stop_all_threads() {
    // One deadline for every thread: threads that cannot stop (uninterruptible sleep) must
    // not keep the others stopped for long.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (int round = 0; round < 100; ++round) {
        std::vector<int> fresh;
        const std::vector<int> tids = list_threads();
        if (tids.empty() && round == 0) {
            throw Error(ErrorKind::NoSuchTarget, "process " + std::to_string(pid_) + " has no threads (it exited?)");
        }
        for (int tid : tids) {
            if (attached_.count(tid)) continue;
            if (::ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
                const int err = errno;
                if (err == ESRCH) continue;                          // exited meanwhile
                if (err == EPERM && is_zombie(pid_, tid)) continue;  // an exited main thread
                // The kernel refuses to attach to a thread that is exiting (PF_EXITING) with
                // EPERM too: once another thread of the process was attached, permission is
                // not what is missing, unless another tracer holds this one thread.
                if (err == EPERM && !attached_.empty()) {
                    const std::string task = "/proc/" + std::to_string(pid_) + "/task/" + std::to_string(tid);
                    const auto status = read_text_file(task + "/status");
                    const std::string tracer = status ? status_field(*status, "TracerPid") : "";
                    if (!tracer.empty() && tracer != "0") {
                        throw Error(ErrorKind::PermissionDenied,
                                    "thread " + std::to_string(tid) + " of process " + std::to_string(pid_) +
                                        " is already traced by PID " + tracer_process(tracer));
                    }
                    continue;
                }
                if (err == EPERM) {
                    throw Error(
                        ErrorKind::PermissionDenied,
                        "cannot attach to process " + std::to_string(pid_) +
                            ": permission denied (run as root or the process owner; check kernel.yama.ptrace_scope)");
                }
                throw Error(ErrorKind::PermissionDenied,
                            "cannot attach to thread " + std::to_string(tid) + ": " + std::strerror(err));
            }
            attached_[tid] = {};
            ::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
            fresh.push_back(tid);
        }
        if (fresh.empty()) return;
        for (int tid : fresh) {
            Attached& state = attached_[tid];
            if (!wait_for_stop(tid, state, deadline)) {
                attached_.erase(tid);  // it exited; nothing to detach
                continue;
            }
            user_regs_struct regs{};
            if (state.stopped && ::ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) {
                static_assert(sizeof(regs) == kUserRegsCount * sizeof(uint64_t));
                std::array<uint64_t, kUserRegsCount> fields{};
                std::memcpy(fields.data(), &regs, sizeof(regs));
                state.fs_base = regs.fs_base;
                state.registers = dwarf_registers(fields);
            }
        }
    }
}

void LiveProcess::detach() noexcept {
    if (!tracer_ || tracer_ending_) return;
    try {
        tracer_->run([this] { detach_all(); });
    } catch (...) {
        // detach_all() does not throw; a thread that cannot run it is released by the end below
    }
    // A thread that had not stopped yet is still traced: released as the tracer thread exits,
    // which it now does while the caller goes on; the destructor waits for it.
    tracer_->end();
    tracer_ending_ = true;
    attached_.clear();
}

void LiveProcess::detach_all() noexcept {
    for (auto& [tid, state] : attached_) {
        if (!state.stopped) {
            // Its interrupt is still pending: give it a moment to stop so that it can be detached.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
            try {
                wait_for_stop(tid, state, deadline);
            } catch (...) {}
        }
        ::ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(state.pending_signal)));
    }
    attached_.clear();
}

size_t LiveProcess::read(uint64_t address, std::span<uint8_t> out) {
    if (out.empty()) return 0;
    if (use_vm_readv_.load(std::memory_order_relaxed)) {
        iovec local{out.data(), out.size()};
        iovec remote{reinterpret_cast<void*>(address), out.size()};
        const ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == EFAULT || errno == ESRCH) return 0;
        use_vm_readv_.store(false, std::memory_order_relaxed);  // ENOSYS or EPERM: fall back to /proc/PID/mem
    }
    std::lock_guard<std::mutex> lock(mem_fd_mutex_);  // pread itself may run concurrently; this keeps it simple
    if (mem_fd_ < 0) {
        mem_fd_ = ::open(("/proc/" + std::to_string(pid_) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
        if (mem_fd_ < 0) return 0;
    }
    size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::pread(mem_fd_, out.data() + done, out.size() - done, static_cast<off_t>(address + done));
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

std::vector<TargetThread> LiveProcess::threads() const {
    std::vector<TargetThread> out;
    if (!attached_.empty()) {
        for (const auto& [tid, state] : attached_)
            out.push_back(kernel_thread(pid_, tid, state.fs_base, state.registers));
        return out;
    }
    for (int tid : list_threads()) out.push_back(kernel_thread(pid_, tid, std::nullopt, std::nullopt));
    return out;
}

std::optional<std::string> LiveProcess::local_file(const std::string& mapped_path) const {
    if (mapped_path.empty() || mapped_path[0] != '/') return std::nullopt;
    const std::string proc = "/proc/" + std::to_string(pid_);
    // A mapped file is read through the mapping itself: that is always the inode the target
    // has mapped, even when the file was deleted or replaced (a library upgraded in place).
    for (const MemoryRegion& r : regions_) {
        if (r.path != mapped_path) continue;
        char name[64];
        std::snprintf(name, sizeof name, "/map_files/%llx-%llx", static_cast<unsigned long long>(r.start),
                      static_cast<unsigned long long>(r.end));
        if (file_exists(proc + name)) return proc + name;
    }
    const std::string through_root = proc + "/root" + mapped_path;
    if (file_exists(through_root)) return through_root;
    return std::nullopt;
}

std::string LiveProcess::source_root() const { return "/proc/" + std::to_string(pid_) + "/root"; }

}  // namespace stackscope
