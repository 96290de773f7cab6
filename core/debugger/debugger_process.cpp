#include <algorithm>
#include <optional>
#include <string>

#include "stackscope/debugger.hpp"
#include "stackscope/error.hpp"
#include "stackscope/live_process.hpp"
#include "stackscope/snapshot.hpp"
#include "stackscope/source_files.hpp"
#include "cpython/runtime_discovery.hpp"
#include "target/syscall_names.hpp"

namespace stackscope {

namespace {

// A live process on this machine as the debugger holds it: read, never stopped by us.
std::unique_ptr<Target> open_live(int pid) {
    return std::make_unique<LiveProcess>(pid, LiveProcess::Options{.stop_threads = false});
}

// What /proc says each thread of a live process here is doing: for when the process is read
// through the debugger (an unreadable /proc/PID/maps, or MemoryPath::Debugger).
std::vector<TargetThread> proc_threads(int pid) {
    try {
        return open_live(pid)->threads();
    } catch (const Error&) {
        return {};
    }
}

std::unique_ptr<Target> through_debugger(const DebuggerProcess& process, bool here) {
    TargetCallbacks callbacks = process.callbacks;
    callbacks.threads = nullptr;        // the overlay's
    callbacks.lookup_symbol = nullptr;  // the overlay's
    callbacks.pid = process.pid;
    callbacks.source_root = here ? "/proc/" + std::to_string(process.pid) + "/root" : "";
    return std::make_unique<CallbackTarget>(std::move(callbacks));
}

// Whether the process is on this machine, /proc/PID being it: a pid alone may name an
// unrelated process here, whose memory and /proc files must not be read for it.
bool on_this_machine(const DebuggerProcess& process) {
    if (process.kind == DebuggerTargetKind::LocalLive) return true;
    if (process.kind != DebuggerTargetKind::MaybeLocalLive || !process.threads) return false;
    std::vector<int> tids;
    for (const DebuggerThread& t : process.threads(false)) tids.push_back(t.tid);
    return same_local_process(process.pid, process.executable, std::move(tids));
}

}  // namespace

DebuggerTarget open_debugger_target(const DebuggerProcess& process, MemoryPath memory) {
    const bool here = on_this_machine(process);
    std::unique_ptr<Target> inner;
    if (memory == MemoryPath::Auto && here) {
        try {
            inner = open_live(process.pid);
        } catch (const Error&) {
            // e.g. /proc/PID/maps is not readable: the debugger's own reads still work
        }
    } else if (memory == MemoryPath::Auto && process.kind == DebuggerTargetKind::Core && !process.core_path.empty()) {
        try {
            inner = std::make_unique<CoreFile>(process.core_path, process.core_options);
        } catch (const Error& e) {
            // The debugger reads the core its own way (its sysroot, the files it was given).
            if (e.kind() == ErrorKind::Internal) throw;
        }
    }
    std::vector<TargetThread> kernel;
    if (inner) kernel = inner->threads();
    else if (here) kernel = proc_threads(process.pid);
    DebuggerTarget out;
    out.direct = inner != nullptr;
    if (!inner) inner = through_debugger(process, here);

    // The debugger's registers where the target has no kernel view, and where a thread is in
    // restart_syscall: the call it resumes is named from them (the target's own have none: the
    // debugger stopped it).
    const bool restarted = std::any_of(kernel.begin(), kernel.end(), [](const TargetThread& t) {
        return t.syscall == kSyscallRestart && !t.registers;
    });
    if (process.threads) out.threads = process.threads(kernel.empty() || restarted);
    // A debugger that lists no threads leaves the target's own.
    std::vector<TargetThread> threads = out.threads.empty() ? kernel : merge_kernel_view(out.threads, kernel);
    out.target = std::make_unique<OverlayTarget>(std::move(inner), std::move(threads),
                                                 out.direct ? SymbolLookup() : process.lookup_symbol);
    return out;
}

Snapshot read_debugger_snapshot(const DebuggerProcess& process, MemoryPath memory, bool sources,
                                std::span<const uint64_t> objects, bool locals, bool tasks, bool locks) {
    DebuggerTarget opened = open_debugger_target(process, memory);
    const SnapshotOptions options{.target_running = false,
                                  .attempts = 1,
                                  .objects = {objects.begin(), objects.end()},
                                  .locals = locals,
                                  .tasks = tasks,
                                  .locks = locks};
    Snapshot snapshot;
    // The error a read met, or nullopt once `snapshot` is read (a bug is never tried again).
    const auto attempt = [&](auto&& read) -> std::optional<Error> {
        try {
            read();
            return std::nullopt;
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
            return e;
        }
    };
    const std::optional<Error> failed = attempt([&] { snapshot = take_snapshot(*opened.target, nullptr, options); });
    if (failed && !opened.direct) throw *failed;
    std::optional<Error> again = failed;
    if (failed && failed->kind() == ErrorKind::UnsupportedRuntime && process.lookup_symbol) {
        opened.target->set_symbols(process.lookup_symbol);
        again = attempt([&] { snapshot = take_snapshot(*opened.target, nullptr, options); });
    }
    // A core whose files here are not the ones it mapped (another machine's libraries, which
    // the debugger's sysroot finds): the debugger reads it its own way. When that fails too,
    // what the direct read said is the more telling.
    if (again && process.kind == DebuggerTargetKind::Core) {
        const std::optional<Error> through_debugger = attempt([&] {
            opened = open_debugger_target(process, MemoryPath::Debugger);
            snapshot = take_snapshot(*opened.target, nullptr, options);
        });
        if (through_debugger) throw *failed;
        again.reset();
    }
    if (again) throw *again;
    number_threads(snapshot, opened.threads);
    if (sources) {
        SourceFiles files(opened.target->source_root());
        add_source_lines(snapshot, files);
    }
    return snapshot;
}

bool is_python_file(const std::string& path) { return may_hold_runtime(path); }

}  // namespace stackscope
