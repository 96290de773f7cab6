#include "stackscope/snapshot.hpp"

#include <algorithm>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "stackscope/error.hpp"
#include "stackscope/source_files.hpp"
#include "extract/asyncio_tasks.hpp"
#include "extract/context_elaboration.hpp"
#include "extract/extraction.hpp"
#include "extract/lock_graph.hpp"
#include "extract/native_threads.hpp"
#include "extract/object_stacks.hpp"
#include "target/glibc_threads.hpp"
#include "cpython/handled_exception.hpp"
#include "stackscope/hex.hpp"
#include "cpython/object_reader.hpp"
#include "target/remote_memory.hpp"
#include "cpython/runtime_discovery.hpp"
#include "cpython/thread_activity.hpp"
#include "cpython/thread_names.hpp"

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
        if (l.thread_id == ThreadIdSource::NativeThreadId) return;
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

// A thread entry standing for the part of a list that could not be read.
Thread broken_list(int64_t interpreter_id, ExtractionError why) {
    Thread t;
    t.interpreter_id = interpreter_id;
    t.stack.error = std::move(why);
    return t;
}

// Data that makes no sense, found by a walk itself (a loop, a foreign element).
ExtractionError inconsistent(const std::string& what, std::optional<uint64_t> address = std::nullopt) {
    return ExtractionError{ErrorKind::InconsistentData, what, address};
}

// An Error met while reading, with `context` before its message; its kind and address stay.
ExtractionError failed(const std::string& context, const Error& e) {
    return ExtractionError{e.kind(), context + e.what(), e.address()};
}

struct ThreadList {
    std::vector<uint64_t> states;            // newest first
    std::optional<ExtractionError> problem;  // why the rest of the list could not be read
};

// What the kernel says each thread is doing, by kernel thread id.
using KernelThreads = std::unordered_map<int, TargetThread>;

// Per-interpreter facts that say what its threads are doing.
struct InterpreterActivity {
    GilState gil;
    bool gc_running = false;
    uint64_t finalizing = 0;  // the runtime's finalizing thread state
};

// Reads every interpreter's threads into a Snapshot, over one Extraction.
class SnapshotReader {
public:
    SnapshotReader(Extraction& x, const SnapshotOptions& options, const std::vector<TargetThread>& kernel_threads,
                   NativeThreads& natives)
        : x_(x),
          l_(x.layout()),
          mem_(x.memory()),
          options_(options),
          tids_(kernel_threads, x.layout()),
          natives_(natives) {
        for (const TargetThread& t : kernel_threads) kernel_.emplace(t.tid, t);
    }

    void read_all(std::vector<Thread>& out);
    const ExtractionStats& stats() const { return stats_; }

private:
    void read_interpreter(uint64_t interp, std::vector<Thread>& out);
    ThreadList walk_thread_list(uint64_t interp);
    ThreadList read_thread_list(uint64_t interp);
    Thread read_thread(uint64_t tstate);
    Stack read_stack(uint64_t tstate);
    void elaborate(Stack& stack) {
        if (options_.contexts) x_.contexts().add_contexts(stack);
    }
    void set_activity(Thread& t, const InterpreterActivity& activity);

    Extraction& x_;
    const PythonLayout& l_;
    RemoteMemory& mem_;
    const SnapshotOptions& options_;
    ThreadIds tids_;
    NativeThreads& natives_;
    KernelThreads kernel_;
    ExtractionStats stats_;
    // Every thread state listed so far, by any interpreter: a thread state is read once per
    // snapshot, so lists that share their elements (garbage memory) cannot make the walk quadratic.
    std::unordered_set<uint64_t> seen_thread_states_;
};

// One walk of a stopped thread; for a running one, walks until a walk's frame chain is still
// the same when read again, within the attempts allowed.
Stack SnapshotReader::read_stack(uint64_t tstate) {
    ThreadStackWalker& walker = x_.thread_stacks();
    if (!options_.target_running) {
        Stack stack = walker.stack(tstate);
        elaborate(stack);
        return stack;
    }
    Stack stack;
    std::string problem;
    const int attempts = std::max(1, options_.attempts);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (attempt > 0) ++stats_.stack_rereads;
        x_.forget_reads();
        ThreadStackWalker::FrameChain walked;
        stack = walker.stack(tstate, &walked);
        elaborate(stack);
        if (stack.error) {
            // Even the same error on every walk may be a thread descheduled in the middle of
            // pushing a frame: a running target's errors are all reported as a change.
            problem = stack.error->message;
            continue;
        }
        x_.forget_reads();
        try {
            if (walker.chain(tstate) == walked) return stack;
            problem = "its frames changed during the read";
        } catch (const Error& e) {
            problem = e.what();
        }
    }
    stack.error = ExtractionError{
        ErrorKind::InconsistentData,
        "the stack changed while it was read (" + std::to_string(attempts) + " attempts; last: " + problem + ")",
        std::nullopt};
    return stack;
}

Thread SnapshotReader::read_thread(uint64_t tstate) {
    Thread t;
    t.thread_state = tstate;
    t.pthread_id = mem_.read_value<uint64_t>(tstate + l_.tstate_thread_id);
    if (l_.thread_id == ThreadIdSource::NativeThreadId) {
        const int64_t native = mem_.read_value<int64_t>(tstate + l_.tstate_native_thread_id);
        if (native > 0 && native <= INT32_MAX) t.tid = mem_.target().host_tid(static_cast<int>(native));
    } else {
        t.tid = tids_.tid_of_pthread(mem_, *t.pthread_id);
    }
    t.stack = read_stack(tstate);
    return t;
}

// The interpreter's thread states; a list that breaks keeps the states before the break.
ThreadList SnapshotReader::walk_thread_list(uint64_t interp) {
    ThreadList list;
    std::unordered_set<uint64_t> seen;
    try {
        for (uint64_t tstate = mem_.read_pointer(interp + l_.interp_threads_head); tstate != 0;
             tstate = mem_.read_pointer(tstate + l_.tstate_next)) {
            if (!seen.insert(tstate).second || seen.size() > kMaxThreads) {
                throw bad_data("the thread list loops or is too long at " + hex(tstate));
            }
            if (mem_.read_pointer(tstate + l_.tstate_interp) != interp) {
                throw bad_data("the thread state at " + hex(tstate) + " is not one of this interpreter's");
            }
            list.states.push_back(tstate);
        }
    } catch (const Error& e) {
        list.problem = failed("cannot read the rest of the thread list: ", e);
    }
    return list;
}

// For a running target (threads start and exit meanwhile): walks until two walks agree.
ThreadList SnapshotReader::read_thread_list(uint64_t interp) {
    if (!options_.target_running) return walk_thread_list(interp);
    ThreadList list;
    const int attempts = std::max(1, options_.attempts);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        x_.forget_reads();
        list = walk_thread_list(interp);
        x_.forget_reads();
        const ThreadList again = walk_thread_list(interp);
        if (!list.problem && !again.problem && again.states == list.states) return list;
    }
    list.problem = inconsistent("the thread list changed while it was read (" + std::to_string(attempts) + " attempts" +
                                (list.problem ? "; last: " + list.problem->message : std::string()) + ")");
    return list;
}

void SnapshotReader::set_activity(Thread& t, const InterpreterActivity& activity) {
    if (t.tid) {
        if (auto k = kernel_.find(*t.tid); k != kernel_.end())
            set_kernel_activity(t, k->second, activity.gil, l_, natives_.resumed_in(k->second));
    }
    // The collector runs on the thread that holds the GIL, or held it last when a finalizer
    // it called has released it.
    t.in_gc = activity.gc_running && activity.gil.last_holder == t.thread_state;
    t.finalizing = activity.finalizing != 0 && activity.finalizing == t.thread_state;
    t.handling = read_handled_exception(x_.objects(), t.thread_state);
}

// Appends the threads of one interpreter, oldest (usually main) first.
void SnapshotReader::read_interpreter(uint64_t interp, std::vector<Thread>& out) {
    const PythonRuntime& rt = x_.runtime();
    const int64_t interp_id = mem_.read_value<int64_t>(interp + l_.interp_id);
    InterpreterActivity activity;
    activity.gil = read_gil(mem_, rt, interp);
    activity.gc_running = gc_running(mem_, rt, interp);
    activity.finalizing = finalizing_thread(mem_, rt);
    const uint64_t holder = activity.gil.holder();
    const auto names = read_thread_names(x_.objects(), interp);
    ThreadList list = read_thread_list(interp);
    std::vector<Thread> threads;
    for (const uint64_t tstate : list.states) {
        if (!seen_thread_states_.insert(tstate).second || seen_thread_states_.size() > kMaxThreads) {
            list.problem = inconsistent(
                "the thread list repeats another interpreter's, or there are too many threads, at " + hex(tstate),
                tstate);
            break;
        }
        Thread t;
        try {
            t = read_thread(tstate);
        } catch (const Error& e) {
            t = broken_list(interp_id, failed("cannot read the thread state at " + hex(tstate) + ": ", e));
            t.thread_state = tstate;
        }
        t.interpreter_id = interp_id;
        t.holds_gil = holder != 0 && holder == tstate;
        if (t.pthread_id) {
            if (auto name = names.find(*t.pthread_id); name != names.end()) t.name = name->second;
        }
        set_activity(t, activity);
        threads.push_back(std::move(t));
    }
    // The interpreter keeps its newest thread first.
    out.insert(out.end(), std::make_move_iterator(threads.rbegin()), std::make_move_iterator(threads.rend()));
    if (list.problem) out.push_back(broken_list(interp_id, std::move(*list.problem)));
}

void SnapshotReader::read_all(std::vector<Thread>& out) {
    std::unordered_set<uint64_t> seen;
    uint64_t interp = mem_.read_pointer(x_.runtime().address + l_.runtime_interpreters_head);
    while (interp != 0) {
        if (!seen.insert(interp).second || seen.size() > kMaxInterpreters) {
            out.push_back(
                broken_list(-1, inconsistent("the interpreter list loops or is too long at " + hex(interp), interp)));
            break;
        }
        try {
            read_interpreter(interp, out);
            interp = mem_.read_pointer(interp + l_.interp_next);
        } catch (const Error& e) {
            out.push_back(broken_list(-1, failed("cannot read the interpreter list: ", e)));
            break;
        }
    }
}

// Whether two readings of an object saw the same stack.
bool same_reading(const ObjectStack& a, const ObjectStack& b) {
    const auto frames_key = [](const Stack& s) {
        std::vector<std::pair<uint64_t, std::optional<int>>> key;
        for (const Frame& f : s.frames) key.emplace_back(f.address, f.line);
        return key;
    };
    const auto leaf_key = [](const Stack& s) {
        return s.leaf ? std::optional(std::pair(s.leaf->address, s.leaf->description)) : std::nullopt;
    };
    return a.type == b.type && a.state == b.state && a.stack.root.thread_state == b.stack.root.thread_state &&
           frames_key(a.stack) == frames_key(b.stack) && leaf_key(a.stack) == leaf_key(b.stack) &&
           a.stack.error.has_value() == b.stack.error.has_value();
}

// One reading of a stopped target; for a running one, reads until two readings in a row agree,
// within the attempts allowed, as thread stacks are read.
ObjectStack read_object(Extraction& x, ObjectStackReader& reader, ContextElaboration& elaboration, uint64_t address,
                        const SnapshotOptions& options) {
    auto read = [&] {
        ObjectStack object = reader.read(address);
        if (options.contexts) {
            x.contexts().add_contexts(object.stack);
            elaboration.elaborate(object.stack);
        }
        // Last, so that the stacks the contexts hold get their variables too.
        if (options.locals) x.locals().add_locals(object.stack);
        return object;
    };
    if (!options.target_running) return read();
    const int attempts = std::max(1, options.attempts);
    ObjectStack reading;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        x.forget_reads();
        reading = read();
        x.forget_reads();
        if (same_reading(reading, read())) return reading;
    }
    reading.stack.error =
        ExtractionError{ErrorKind::InconsistentData,
                        "the object changed while it was read (" + std::to_string(attempts) + " attempts)", address};
    return reading;
}

// What a second task reader leaves, freed as one (the readers before the Extraction they use).
struct ReadersLeft {
    std::unique_ptr<Extraction> x;
    std::unique_ptr<ObjectStackReader> stacks;
    std::unique_ptr<ContextElaboration> elaboration;
    TasksRead tasks;
};

// The frames of every stack: the threads', the objects' and the tasks', those joined and those
// still in their readers' runs.
std::vector<std::span<Frame>> frames_of_stacks(Snapshot& snap, TasksRead& read) {
    std::vector<std::span<Frame>> out;
    for (Thread& t : snap.threads) out.emplace_back(t.stack.frames);
    for (ObjectStack& o : snap.objects) out.emplace_back(o.stack.frames);
    for (Task& t : snap.tasks) out.emplace_back(t.stack.frames);
    for (std::vector<Task>& run : read.task_runs)
        for (Task& t : run) out.emplace_back(t.stack.frames);
    return out;
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
    std::stable_partition(snap.threads.begin(), snap.threads.end(),
                          [](const Thread& t) { return t.crash.has_value(); });
}

}  // namespace

Snapshot take_snapshot(Target& target, ExtractionStats* stats_out, const SnapshotOptions& options,
                       const std::function<void()>& reads_done) {
    Extraction x(target, !options.target_running);
    const std::vector<TargetThread> kernel_threads = target.threads();
    NativeThreads natives(x, options.native_interpreter_in_full);
    SnapshotReader reader(x, options, kernel_threads, natives);
    Snapshot snap;
    snap.python_version = x.layout().version.str();
    snap.debug_build = x.flavour() == BuildFlavour::Debug;
    snap.pid = target.pid();
    const bool native = options.native && options.objects.empty();
    if (native) natives.start();
    reader.read_all(snap.threads);
    if (native) natives.add_native_stacks(snap.threads, kernel_threads);
    mark_crashed_thread(target, snap);
    // After every thread is read: a running generator's frames are on another thread's stack.
    ContextElaboration elaboration(x, snap.threads);
    uint64_t extra_target_reads = 0, extra_requested_reads = 0;  // by a second task reader
    int task_readers = 0;
    // A second task reader: freed with the first, once the target runs again (freeing its
    // caches would otherwise keep the target stopped a few milliseconds longer).
    std::unique_ptr<Extraction> second_x;
    std::unique_ptr<ObjectStackReader> second_stacks;
    std::unique_ptr<ContextElaboration> second_elaboration;
    TasksRead tasks_read;  // finished once the target runs again
    if (options.objects.empty()) {
        for (Thread& t : snap.threads) {
            if (options.contexts) elaboration.elaborate(t.stack);
            // Last, so that the stacks the contexts hold get their variables too.
            if (options.locals) x.locals().add_locals(t.stack);
        }
    }
    // --locks reads the tasks too (they hold and wait for asyncio's locks), shown only with --tasks.
    if (options.tasks || (options.locks && options.objects.empty())) {
        ObjectStackReader stacks(x, snap.threads, ObjectStackReader::Purpose::Tasks);
        // A long task list is read by two threads where the target allows it, the second with
        // an Extraction (and caches) of its own.
        const auto second_worker = [&]() -> std::optional<TaskReader::Worker> {
            if (!target.concurrent_reads()) return std::nullopt;
            second_x = std::make_unique<Extraction>(target, !options.target_running);
            second_stacks =
                std::make_unique<ObjectStackReader>(*second_x, snap.threads, ObjectStackReader::Purpose::Tasks);
            second_elaboration = std::make_unique<ContextElaboration>(*second_x, snap.threads);
            return TaskReader::Worker{*second_x, [&](uint64_t task) {
                                          return read_object(*second_x, *second_stacks, *second_elaboration, task,
                                                             options);
                                      }};
        };
        tasks_read = TaskReader(x, options.target_running, options.attempts)
                         .read(
                             snap, [&](uint64_t task) { return read_object(x, stacks, elaboration, task, options); },
                             second_worker, options.helper);
        task_readers = second_x ? 2 : 1;
        if (second_x) {
            extra_target_reads = second_x->memory().target_reads();
            extra_requested_reads = second_x->memory().requested_reads();
        }
    }
    if (options.locks && options.objects.empty()) {
        join_task_lists(snap, tasks_read);  // the locks are held and awaited by all of them
        std::unordered_map<int, TargetThread> kernel;
        for (const TargetThread& t : kernel_threads) kernel.emplace(t.tid, t);
        read_locks(x, snap, kernel);
    }
    if (!options.tasks && snap.tasks_asked) {
        snap.tasks_asked = false;
        snap.tasks.clear();
        snap.tasks_error.reset();
        for (Thread& t : snap.threads) {
            t.running_loop.reset();
            t.running_task.reset();
        }
    }
    if (!options.objects.empty()) {
        ObjectStackReader objects(x, snap.threads);
        for (const uint64_t address : options.objects)
            snap.objects.push_back(read_object(x, objects, elaboration, address, options));
        snap.objects_asked = true;
        snap.threads.clear();
    }
    if (stats_out) {
        *stats_out = reader.stats();
        stats_out->target_reads = x.memory().target_reads() + extra_target_reads;
        stats_out->requested_reads = x.memory().requested_reads() + extra_requested_reads;
        stats_out->task_readers = task_readers;
    }
    if (reads_done) reads_done();
    // The source lines, on the helper while the tasks are ordered. Ordering moves whole tasks and
    // never their frames (a vector's elements stay where they are when the vector moves), so the
    // frames are listed before it starts; and every task is kept (finish_tasks).
    std::future<void> lines_added;
    if (options.sources && options.helper && options.tasks) {
        auto done = std::make_shared<std::promise<void>>();
        lines_added = done->get_future();
        options.helper->run([done, frames = frames_of_stacks(snap, tasks_read), &sources = *options.sources] {
            try {
                for (const std::span<Frame> f : frames) add_source_lines(f, sources);
                done->set_value();
            } catch (...) {
                done->set_exception(std::current_exception());
            }
        });
    }
    try {
        if (options.tasks) finish_tasks(snap, tasks_read);
    } catch (...) {
        if (lines_added.valid()) lines_added.wait();  // it writes into the frames this frees
        throw;
    }
    if (lines_added.valid()) {
        lines_added.get();
        add_lock_source_lines(snap, *options.sources);
    } else if (options.sources) {
        add_source_lines(snap, *options.sources);
    }
    // What the second task reader kept (its caches and pages) and the runs the tasks were moved
    // out of: freed on the helper, whose thread made most of it, while the caller goes on.
    if (options.helper && second_x) {
        auto left = std::make_shared<ReadersLeft>(ReadersLeft{std::move(second_x), std::move(second_stacks),
                                                              std::move(second_elaboration), std::move(tasks_read)});
        options.helper->run([left = std::move(left)] {});  // the last owner: freed there
    }
    return snap;
}

}  // namespace stackscope
