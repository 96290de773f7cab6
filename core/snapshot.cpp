#include "snapshot.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "error.hpp"
#include "frame_walker.hpp"
#include "glibc_threads.hpp"
#include "handled_exception.hpp"
#include "hex.hpp"
#include "object_reader.hpp"
#include "remote_memory.hpp"
#include "runtime_discovery.hpp"
#include "thread_activity.hpp"
#include "thread_names.hpp"
#include "type_anchors.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxInterpreters = 1024;
constexpr size_t kMaxThreads = 10000;

// Kernel thread ids of the thread states' pthread_t, for versions whose thread states do not
// record the tid: from the target's threads (on x86-64 glibc a pthread_t is the thread's
// fs_base), else from glibc's struct pthread itself (no registers: a running target).
class ThreadIds {
public:
    ThreadIds(const std::vector<TargetThread>& kernel_threads, const PythonLayout& l) {
        if (l.tstate_native_thread_id != kAbsent) return;
        for (const TargetThread& t : kernel_threads) {
            known_.insert(t.tid);
            if (t.pthread_id) by_pthread_.emplace(*t.pthread_id, t.tid);
        }
    }

    std::optional<int> tid_of_pthread(RemoteMemory& mem, uint64_t pthread_id) {
        if (auto tid = by_pthread_.find(pthread_id); tid != by_pthread_.end()) return tid->second;
        if (!glibc_offset_) glibc_offset_ = glibc_pthread_tid_offset(mem);
        if (!*glibc_offset_) return std::nullopt;
        const auto tid = glibc_thread_tid(mem, pthread_id, **glibc_offset_);
        if (!tid) return std::nullopt;
        const int host = mem.target().host_tid(*tid);
        // A stale descriptor may name a thread that is gone (or a reused id): trust only live
        // ones. A running target may have started it since the list was taken: look again, once.
        if (!known_.empty() && !known_.count(host) && !relisted_) {
            relisted_ = true;
            for (const TargetThread& t : mem.target().threads()) known_.insert(t.tid);
        }
        if (!known_.empty() && !known_.count(host)) return std::nullopt;
        return host;
    }

private:
    std::unordered_map<uint64_t, int> by_pthread_;
    std::unordered_set<int> known_;
    std::optional<std::optional<uint64_t>> glibc_offset_;  // looked up once, when first needed
    bool relisted_ = false;
};

// One walk of a stopped thread; for a running one, walks until a walk's frame chain is still
// the same when read again, within the attempts allowed.
Stack read_stack(RemoteMemory& mem, FrameWalker& walker, uint64_t tstate, const SnapshotOptions& options,
                 ExtractionStats& stats) {
    if (!options.target_running) return walker.thread_stack(tstate);
    Stack stack;
    std::string problem;
    const int attempts = std::max(1, options.attempts);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (attempt > 0) ++stats.stack_rereads;
        mem.clear();
        FrameWalker::FrameChain walked;
        stack = walker.thread_stack(tstate, &walked);
        if (stack.error) {
            // Even the same error on every walk may be a thread descheduled in the middle of
            // pushing a frame: a running target's errors are all reported as a change.
            problem = *stack.error;
            continue;
        }
        mem.clear();
        try {
            if (walker.frame_chain(tstate) == walked) return stack;
            problem = "its frames changed during the read";
        } catch (const Error& e) {
            problem = e.what();
        }
    }
    stack.error = "the stack changed while it was read (" + std::to_string(attempts) + " attempts; last: " + problem + ")";
    return stack;
}

Thread read_thread(RemoteMemory& mem, const PythonLayout& l, FrameWalker& walker, ThreadIds& tids, uint64_t tstate,
                   const SnapshotOptions& options, ExtractionStats& stats) {
    Thread t;
    t.thread_state = tstate;
    t.pthread_id = mem.read_value<uint64_t>(tstate + l.tstate_thread_id);
    if (l.tstate_native_thread_id != kAbsent) {
        const int64_t native = mem.read_value<int64_t>(tstate + l.tstate_native_thread_id);
        if (native > 0 && native <= INT32_MAX) t.tid = mem.target().host_tid(static_cast<int>(native));
    } else {
        t.tid = tids.tid_of_pthread(mem, *t.pthread_id);
    }
    t.stack = read_stack(mem, walker, tstate, options, stats);
    return t;
}

// A thread entry standing for the part of a list that could not be read.
Thread broken_list(int64_t interpreter_id, const std::string& what) {
    Thread t;
    t.interpreter_id = interpreter_id;
    t.stack.error = what;
    return t;
}

struct ThreadList {
    std::vector<uint64_t> states;  // newest first
    std::optional<std::string> problem;  // why the rest of the list could not be read
};

// The interpreter's thread states; a list that breaks keeps the states before the break.
ThreadList walk_thread_list(RemoteMemory& mem, const PythonLayout& l, uint64_t interp) {
    ThreadList list;
    std::unordered_set<uint64_t> seen;
    try {
        for (uint64_t tstate = mem.read_pointer(interp + l.interp_threads_head); tstate != 0;
             tstate = mem.read_pointer(tstate + l.tstate_next)) {
            if (!seen.insert(tstate).second || seen.size() > kMaxThreads) {
                throw bad_data("the thread list loops or is too long at " + hex(tstate));
            }
            if (mem.read_pointer(tstate + l.tstate_interp) != interp) {
                throw bad_data("the thread state at " + hex(tstate) + " is not one of this interpreter's");
            }
            list.states.push_back(tstate);
        }
    } catch (const Error& e) {
        list.problem = std::string("cannot read the rest of the thread list: ") + e.what();
    }
    return list;
}

// For a running target (threads start and exit meanwhile): walks until two walks agree.
ThreadList read_thread_list(RemoteMemory& mem, const PythonLayout& l, uint64_t interp, const SnapshotOptions& options) {
    if (!options.target_running) return walk_thread_list(mem, l, interp);
    ThreadList list;
    const int attempts = std::max(1, options.attempts);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        mem.clear();
        list = walk_thread_list(mem, l, interp);
        mem.clear();
        const ThreadList again = walk_thread_list(mem, l, interp);
        if (!list.problem && !again.problem && again.states == list.states) return list;
    }
    list.problem = "the thread list changed while it was read (" + std::to_string(attempts) + " attempts" +
                   (list.problem ? "; last: " + *list.problem : std::string()) + ")";
    return list;
}

// What the kernel says each thread is doing, by kernel thread id.
using KernelThreads = std::unordered_map<int, TargetThread>;

// Per-interpreter facts that say what its threads are doing.
struct InterpreterActivity {
    GilState gil;
    bool gc_running = false;
    uint64_t finalizing = 0;  // the runtime's finalizing thread state
};

void set_activity(Thread& t, ObjectReader& objects, const KernelThreads& kernel, const InterpreterActivity& activity) {
    if (t.tid) {
        if (auto k = kernel.find(*t.tid); k != kernel.end()) set_kernel_activity(t, k->second, activity.gil, objects.layout());
    }
    // The collector runs on the thread that holds the GIL, or held it last when a finalizer
    // it called has released it.
    t.in_gc = activity.gc_running && activity.gil.last_holder == t.thread_state;
    t.finalizing = activity.finalizing != 0 && activity.finalizing == t.thread_state;
    t.handling = read_handled_exception(objects, t.thread_state);
}

// Appends the threads of one interpreter, oldest (usually main) first. `seen` holds every
// thread state listed so far, by any interpreter: a thread state is read once per snapshot,
// so lists that share their elements (garbage memory) cannot make the walk quadratic.
void read_interpreter(RemoteMemory& mem, const PythonRuntime& rt, ObjectReader& objects, FrameWalker& walker,
                      ThreadIds& tids, const KernelThreads& kernel, uint64_t interp, std::unordered_set<uint64_t>& seen,
                      const SnapshotOptions& options, ExtractionStats& stats, std::vector<Thread>& out) {
    const PythonLayout& l = rt.layout;
    const int64_t interp_id = mem.read_value<int64_t>(interp + l.interp_id);
    InterpreterActivity activity;
    activity.gil = read_gil(mem, rt, interp);
    activity.gc_running = gc_running(mem, rt, interp);
    activity.finalizing = finalizing_thread(mem, rt);
    const uint64_t holder = activity.gil.holder();
    const auto names = read_thread_names(objects, interp);
    ThreadList list = read_thread_list(mem, l, interp, options);
    std::vector<Thread> threads;
    for (const uint64_t tstate : list.states) {
        if (!seen.insert(tstate).second || seen.size() > kMaxThreads) {
            list.problem = "the thread list repeats another interpreter's, or there are too many threads, at " + hex(tstate);
            break;
        }
        Thread t;
        try {
            t = read_thread(mem, l, walker, tids, tstate, options, stats);
        } catch (const Error& e) {
            t = broken_list(interp_id, "cannot read the thread state at " + hex(tstate) + ": " + e.what());
            t.thread_state = tstate;
        }
        t.interpreter_id = interp_id;
        t.holds_gil = holder != 0 && holder == tstate;
        if (t.pthread_id) {
            if (auto name = names.find(*t.pthread_id); name != names.end()) t.name = name->second;
        }
        set_activity(t, objects, kernel, activity);
        threads.push_back(std::move(t));
    }
    // The interpreter keeps its newest thread first.
    out.insert(out.end(), std::make_move_iterator(threads.rbegin()), std::make_move_iterator(threads.rend()));
    if (list.problem) out.push_back(broken_list(interp_id, *list.problem));
}

// The thread that received the fatal signal of a crash core is marked and listed first.
void mark_crashed_thread(const Target& target, Snapshot& snap) {
    snap.process = target.process_info();
    if (!snap.process || !snap.process->fatal_signal) return;
    const FatalSignal& fatal = *snap.process->fatal_signal;
    for (Thread& t : snap.threads) {
        if (t.tid != fatal.tid) continue;
        t.crash = fatal;
        // It was being killed: neither running nor idle (an abort is "in" tgkill).
        t.activity = ThreadActivity::Unknown;
        t.syscall.reset();
    }
    std::stable_partition(snap.threads.begin(), snap.threads.end(), [](const Thread& t) { return t.crash.has_value(); });
}

}  // namespace

void add_late_kernel_activity(Snapshot& snapshot, Target& target) {
    const bool needed = std::any_of(snapshot.threads.begin(), snapshot.threads.end(),
                                    [](const Thread& t) { return t.tid && t.activity == ThreadActivity::Unknown; });
    if (!needed) return;
    KernelThreads kernel;
    for (const TargetThread& t : target.threads()) kernel.emplace(t.tid, t);
    try {
        RemoteMemory mem(target);
        const PythonRuntime rt = discover_runtime(mem);
        std::unordered_map<int64_t, GilState> gils;
        std::unordered_set<uint64_t> seen;
        for (uint64_t interp = mem.read_pointer(rt.address + rt.layout.runtime_interpreters_head);
             interp != 0 && seen.insert(interp).second && seen.size() <= kMaxInterpreters;
             interp = mem.read_pointer(interp + rt.layout.interp_next)) {
            gils.emplace(mem.read_value<int64_t>(interp + rt.layout.interp_id), read_gil(mem, rt, interp));
        }
        for (Thread& t : snapshot.threads) {
            const auto k = t.tid ? kernel.find(*t.tid) : kernel.end();
            const auto gil = gils.find(t.interpreter_id);
            if (t.activity != ThreadActivity::Unknown || k == kernel.end() || gil == gils.end()) continue;
            set_kernel_activity(t, k->second, gil->second, rt.layout);
        }
    } catch (const Error&) {
        // the snapshot stands as it is
    }
}

Snapshot take_snapshot(Target& target, ExtractionStats* stats_out, const SnapshotOptions& options) {
    RemoteMemory mem(target);
    const PythonRuntime rt = discover_runtime(mem);
    const PythonLayout& l = rt.layout;
    ObjectReader objects(mem, l);
    FrameWalker walker(objects, !options.target_running);
    learn_builtin_types(objects, walker, rt.address);
    const std::vector<TargetThread> kernel_threads = target.threads();
    ThreadIds tids(kernel_threads, l);
    KernelThreads kernel;
    for (const TargetThread& t : kernel_threads) kernel.emplace(t.tid, t);
    ExtractionStats stats;

    Snapshot snap;
    snap.python_version = l.version.str();
    snap.pid = target.pid();

    std::unordered_set<uint64_t> seen, seen_thread_states;
    uint64_t interp = mem.read_pointer(rt.address + l.runtime_interpreters_head);
    while (interp != 0) {
        if (!seen.insert(interp).second || seen.size() > kMaxInterpreters) {
            snap.threads.push_back(broken_list(-1, "the interpreter list loops or is too long at " + hex(interp)));
            break;
        }
        try {
            read_interpreter(mem, rt, objects, walker, tids, kernel, interp, seen_thread_states, options, stats, snap.threads);
            interp = mem.read_pointer(interp + l.interp_next);
        } catch (const Error& e) {
            snap.threads.push_back(broken_list(-1, std::string("cannot read the interpreter list: ") + e.what()));
            break;
        }
    }
    mark_crashed_thread(target, snap);
    stats.target_reads = mem.target_reads();
    if (stats_out) *stats_out = stats;
    return snap;
}

}  // namespace stackscope
