#include "snapshot.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "error.hpp"
#include "frame_walker.hpp"
#include "hex.hpp"
#include "object_reader.hpp"
#include "remote_memory.hpp"
#include "runtime_discovery.hpp"
#include "thread_names.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxInterpreters = 1024;
constexpr size_t kMaxThreads = 10000;

// The thread state that holds the GIL of `interp`, 0 when it is free or unknown.
uint64_t gil_holder(RemoteMemory& mem, const PythonRuntime& rt, uint64_t interp) {
    const PythonLayout& l = rt.layout;
    try {
        uint64_t gil = 0;
        switch (l.gil_location) {
            case GilLocation::Runtime: gil = rt.address + l.runtime_gil; break;
            case GilLocation::InterpreterPointer: gil = mem.read_pointer(interp + l.interp_gil); break;
        }
        if (gil == 0) return 0;
        if (mem.read_value<int32_t>(gil + l.gil_locked) == 0) return 0;
        return mem.read_pointer(gil + l.gil_last_holder);
    } catch (const Error&) {
        return 0;
    }
}

// Kernel thread ids by pthread_t, for versions whose thread states record only the latter:
// on x86-64 glibc a thread's pthread_t is its fs_base, which the target knows per thread.
using TidByPthread = std::unordered_map<uint64_t, int>;

TidByPthread tids_by_pthread(const Target& target) {
    TidByPthread out;
    for (const TargetThread& t : target.threads()) {
        if (t.pthread_id) out.emplace(*t.pthread_id, t.tid);
    }
    return out;
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

// Appends the threads of one interpreter, oldest (usually main) first. `seen` holds every
// thread state listed so far, by any interpreter: a thread state is read once per snapshot,
// so lists that share their elements (garbage memory) cannot make the walk quadratic.
void read_interpreter(RemoteMemory& mem, const PythonRuntime& rt, ObjectReader& objects, FrameWalker& walker,
                      const TidByPthread& tids, uint64_t interp, std::unordered_set<uint64_t>& seen, std::vector<Thread>& out) {
    const PythonLayout& l = rt.layout;
    const int64_t interp_id = mem.read_value<int64_t>(interp + l.interp_id);
    const uint64_t holder = gil_holder(mem, rt, interp);
    const auto names = read_thread_names(objects, interp);
    std::vector<Thread> threads;
    std::optional<Thread> broken;
    try {
        for (uint64_t tstate = mem.read_pointer(interp + l.interp_threads_head); tstate != 0;
             tstate = mem.read_pointer(tstate + l.tstate_next)) {
            if (!seen.insert(tstate).second || seen.size() > kMaxThreads) {
                throw bad_data("the thread list loops, is too long, or repeats another interpreter's at " + hex(tstate));
            }
            Thread t = read_thread(mem, l, walker, tids, tstate);
            t.interpreter_id = interp_id;
            t.holds_gil = holder != 0 && holder == tstate;
            if (t.pthread_id) {
                if (auto name = names.find(*t.pthread_id); name != names.end()) t.name = name->second;
            }
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

Snapshot take_snapshot(Target& target, ExtractionStats* stats) {
    RemoteMemory mem(target);
    const PythonRuntime rt = discover_runtime(mem);
    const PythonLayout& l = rt.layout;
    ObjectReader objects(mem, l);
    FrameWalker walker(objects);
    const TidByPthread tids = l.tstate_native_thread_id == kAbsent ? tids_by_pthread(target) : TidByPthread{};

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
            read_interpreter(mem, rt, objects, walker, tids, interp, seen_thread_states, snap.threads);
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
