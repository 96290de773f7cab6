#include "snapshot.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "error.hpp"
#include "frame_walker.hpp"
#include "handled_exception.hpp"
#include "hex.hpp"
#include "object_reader.hpp"
#include "remote_memory.hpp"
#include "runtime_discovery.hpp"
#include "thread_activity.hpp"
#include "thread_names.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxInterpreters = 1024;
constexpr size_t kMaxThreads = 10000;

// Kernel thread ids by pthread_t, for versions whose thread states record only the latter:
// on x86-64 glibc a thread's pthread_t is its fs_base, which the target knows per thread.
using TidByPthread = std::unordered_map<uint64_t, int>;

TidByPthread tids_by_pthread(const std::vector<TargetThread>& kernel_threads) {
    TidByPthread out;
    for (const TargetThread& t : kernel_threads) {
        if (t.pthread_id) out.emplace(*t.pthread_id, t.tid);
    }
    return out;
}

// What the target knows about each thread, by kernel thread id.
struct TargetThreads {
    std::unordered_map<int, TargetThread> by_tid;
    TidByPthread tids;  // only for versions whose thread states lack the kernel thread id
};

// Per-interpreter facts that say what its threads are doing.
struct InterpreterActivity {
    GilState gil;
    bool gc_running = false;
    uint64_t finalizing = 0;  // the runtime's finalizing thread state
};

void set_activity(Thread& t, ObjectReader& objects, const TargetThreads& targets, const InterpreterActivity& activity) {
    if (t.tid) {
        if (auto kernel = targets.by_tid.find(*t.tid); kernel != targets.by_tid.end()) {
            set_kernel_activity(t, kernel->second, activity.gil, objects.layout());
        }
    }
    // The collector runs on the thread that holds the GIL, or held it last when a finalizer
    // it called has released it.
    t.in_gc = activity.gc_running && activity.gil.last_holder == t.thread_state;
    t.finalizing = activity.finalizing != 0 && activity.finalizing == t.thread_state;
    t.handling = read_handled_exception(objects, t.thread_state);
}

Thread read_thread(RemoteMemory& mem, const PythonLayout& l, FrameWalker& walker, const TidByPthread& tids, uint64_t tstate) {
    // An unreadable thread state ends the thread list (the caller records that once).
    Thread t;
    t.thread_state = tstate;
    t.pthread_id = mem.read_value<uint64_t>(tstate + l.tstate_thread_id);
    if (l.tstate_native_thread_id != kAbsent) {
        t.tid = static_cast<int>(mem.read_value<int64_t>(tstate + l.tstate_native_thread_id));
    } else if (auto tid = tids.find(*t.pthread_id); tid != tids.end()) {
        t.tid = tid->second;
    }
    t.stack = walker.thread_stack(tstate);
    return t;
}

// A thread entry standing for the part of a list that could not be read.
Thread broken_list(int64_t interpreter_id, const std::string& what) {
    Thread t;
    t.interpreter_id = interpreter_id;
    t.stack.error = what;
    return t;
}

// Appends the threads of one interpreter, oldest (usually main) first.
void read_interpreter(RemoteMemory& mem, const PythonRuntime& rt, ObjectReader& objects, FrameWalker& walker,
                      const TargetThreads& targets, uint64_t interp, std::vector<Thread>& out) {
    const PythonLayout& l = rt.layout;
    const int64_t interp_id = mem.read_value<int64_t>(interp + l.interp_id);
    InterpreterActivity activity;
    activity.gil = read_gil(mem, rt, interp);
    activity.gc_running = gc_running(mem, rt, interp);
    activity.finalizing = finalizing_thread(mem, rt);
    const uint64_t holder = activity.gil.holder();
    const auto names = read_thread_names(objects, interp);
    std::vector<Thread> threads;
    std::optional<Thread> broken;
    std::unordered_set<uint64_t> seen;
    try {
        for (uint64_t tstate = mem.read_pointer(interp + l.interp_threads_head); tstate != 0;
             tstate = mem.read_pointer(tstate + l.tstate_next)) {
            if (!seen.insert(tstate).second || seen.size() > kMaxThreads) {
                throw bad_data("the thread list loops or is too long at " + hex(tstate));
            }
            Thread t = read_thread(mem, l, walker, targets.tids, tstate);
            t.interpreter_id = interp_id;
            t.holds_gil = holder != 0 && holder == tstate;
            if (t.pthread_id) {
                if (auto name = names.find(*t.pthread_id); name != names.end()) t.name = name->second;
            }
            set_activity(t, objects, targets, activity);
            threads.push_back(std::move(t));
        }
    } catch (const Error& e) {
        broken = broken_list(interp_id, std::string("cannot read the rest of the thread list: ") + e.what());
    }
    // The interpreter keeps its newest thread first.
    out.insert(out.end(), std::make_move_iterator(threads.rbegin()), std::make_move_iterator(threads.rend()));
    if (broken) out.push_back(std::move(*broken));
}

}  // namespace

void add_late_kernel_activity(Snapshot& snapshot, Target& target) {
    const bool needed = std::any_of(snapshot.threads.begin(), snapshot.threads.end(),
                                    [](const Thread& t) { return t.tid && t.activity == ThreadActivity::Unknown; });
    if (!needed) return;
    std::unordered_map<int, TargetThread> kernel;
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

Snapshot take_snapshot(Target& target, ExtractionStats* stats) {
    RemoteMemory mem(target);
    const PythonRuntime rt = discover_runtime(mem);
    const PythonLayout& l = rt.layout;
    ObjectReader objects(mem, l);
    FrameWalker walker(objects);
    TargetThreads targets;
    const std::vector<TargetThread> kernel_threads = target.threads();
    for (const TargetThread& t : kernel_threads) targets.by_tid.emplace(t.tid, t);
    if (l.tstate_native_thread_id == kAbsent) targets.tids = tids_by_pthread(kernel_threads);

    Snapshot snap;
    snap.python_version = l.version.str();
    snap.pid = target.pid();

    std::unordered_set<uint64_t> seen;
    uint64_t interp = mem.read_pointer(rt.address + l.runtime_interpreters_head);
    while (interp != 0) {
        if (!seen.insert(interp).second || seen.size() > kMaxInterpreters) {
            snap.threads.push_back(broken_list(-1, "the interpreter list loops or is too long at " + hex(interp)));
            break;
        }
        try {
            read_interpreter(mem, rt, objects, walker, targets, interp, snap.threads);
            interp = mem.read_pointer(interp + l.interp_next);
        } catch (const Error& e) {
            snap.threads.push_back(broken_list(-1, std::string("cannot read the interpreter list: ") + e.what()));
            break;
        }
    }
    if (stats) stats->target_reads = mem.target_reads();
    return snap;
}

}  // namespace stackscope
