#include "extract/asyncio_tasks.hpp"

#include <algorithm>
#include <iterator>
#include <span>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common/error_list.hpp"
#include "common/id_index.hpp"
#include "common/two_thread_runs.hpp"
#include "cpython/asyncio_futures.hpp"
#include "cpython/asyncio_registry.hpp"
#include "extract/task_awaiters.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

// The lists of tasks the readers made as one, without moving the tasks into one vector.
class TaskLists {
public:
    explicit TaskLists(std::vector<std::vector<Task>>& lists) {
        size_t count = 0;
        for (const auto& list : lists) count += list.size();
        at_.reserve(count);
        for (auto& list : lists)
            for (Task& t : list) at_.push_back(&t);
    }
    size_t size() const { return at_.size(); }
    Task& operator[](size_t i) { return *at_[i]; }
    template <typename Visit>
    void for_each(Visit&& visit) {
        for (Task* t : at_) visit(*t);
    }

private:
    std::vector<Task*> at_;
};

// Each task's awaiters that are among the tasks, by position: `index` gives the position of
// each task's id (the first, should an id be listed twice).
struct AwaitGraph {
    std::vector<uint32_t> awaiter_offsets, awaiters;  // task i's: awaiters[awaiter_offsets[i] .. [i + 1])
    std::vector<uint32_t> awaited_offsets, awaited;   // the tasks task i awaits, likewise

    AwaitGraph(TaskLists& tasks, const IdIndex& index) {
        const size_t n = tasks.size();
        awaiter_offsets.assign(n + 1, 0);
        awaited_offsets.assign(n + 1, 0);
        std::vector<std::pair<uint32_t, uint32_t>> edges;  // (awaited, awaiter)
        for (size_t i = 0; i < n; ++i) {
            for (const TaskAwaiter& a : tasks[i].awaited_by) {
                const uint32_t j = index.find(a.task);
                if (j == IdIndex::kAbsent) continue;
                edges.emplace_back(static_cast<uint32_t>(i), j);
                ++awaiter_offsets[i + 1];
                ++awaited_offsets[j + 1];
            }
        }
        for (size_t i = 0; i < n; ++i) {
            awaiter_offsets[i + 1] += awaiter_offsets[i];
            awaited_offsets[i + 1] += awaited_offsets[i];
        }
        awaiters.resize(edges.size());
        awaited.resize(edges.size());
        std::vector<uint32_t> next_awaiter(awaiter_offsets.begin(), awaiter_offsets.end() - 1);
        std::vector<uint32_t> next_awaited(awaited_offsets.begin(), awaited_offsets.end() - 1);
        for (const auto& [i, j] : edges) {
            awaiters[next_awaiter[i]++] = j;
            awaited[next_awaited[j]++] = i;
        }
    }
    std::span<const uint32_t> awaiters_of(size_t i) const {
        return std::span(awaiters).subspan(awaiter_offsets[i], awaiter_offsets[i + 1] - awaiter_offsets[i]);
    }
    std::span<const uint32_t> awaited_of(size_t i) const {
        return std::span(awaited).subspan(awaited_offsets[i], awaited_offsets[i + 1] - awaited_offsets[i]);
    }
};

// Tasks on a cycle of awaits: what is left after peeling off, again and again, the tasks no
// task awaits, and then the tasks that await none.
void mark_cycles(TaskLists& tasks, const AwaitGraph& graph) {
    const size_t n = tasks.size();
    std::vector<bool> removed(n, false);
    const auto peel = [&](auto in, auto out) {
        std::vector<size_t> degree(n, 0), ready;
        for (size_t i = 0; i < n; ++i) {
            if (removed[i]) continue;
            for (const uint32_t j : in(i)) degree[i] += removed[j] ? 0 : 1;
            if (degree[i] == 0) ready.push_back(i);
        }
        while (!ready.empty()) {
            const size_t i = ready.back();
            ready.pop_back();
            removed[i] = true;
            for (const uint32_t j : out(i)) {
                if (!removed[j] && --degree[j] == 0) ready.push_back(j);
            }
        }
    };
    const auto awaiters = [&](size_t i) { return graph.awaiters_of(i); };
    const auto awaited = [&](size_t i) { return graph.awaited_of(i); };
    peel(awaiters, awaited);
    peel(awaited, awaiters);
    for (size_t i = 0; i < n; ++i) tasks[i].cycle = !removed[i];
}

// By loop (the threads' loops in thread order, then the rest as met), and in each, depth first
// from the roots (no awaiter; by id), every task after its full_awaiter (model.hpp); cycles last.
std::vector<Task> ordered(TaskLists& tasks, const IdIndex& index, const std::vector<Thread>& threads) {
    std::vector<uint64_t> loops;
    for (const Thread& t : threads) {
        if (t.running_loop && std::find(loops.begin(), loops.end(), *t.running_loop) == loops.end())
            loops.push_back(*t.running_loop);
    }
    tasks.for_each([&](const Task& t) {
        if (std::find(loops.begin(), loops.end(), t.loop) == loops.end()) loops.push_back(t.loop);
    });
    const size_t n = tasks.size();
    // The tasks each task shows in full (full_awaiter), by id.
    const auto listed = [&](uint64_t id) { return index.find(id) != IdIndex::kAbsent; };
    std::vector<uint32_t> shown_under(n, IdIndex::kAbsent), child_offsets(n + 1, 0);
    for (size_t i = 0; i < n; ++i) {
        if (const uint64_t awaiter = full_awaiter(tasks[i], listed)) {
            shown_under[i] = index.find(awaiter);
            ++child_offsets[shown_under[i] + 1];
        }
    }
    for (size_t i = 0; i < n; ++i) child_offsets[i + 1] += child_offsets[i];
    std::vector<uint32_t> children(child_offsets[n]);
    {
        std::vector<uint32_t> next(child_offsets.begin(), child_offsets.end() - 1);
        for (size_t i = 0; i < n; ++i) {
            if (shown_under[i] != IdIndex::kAbsent) children[next[shown_under[i]]++] = static_cast<uint32_t>(i);
        }
    }
    const auto by_id = [&](size_t a, size_t b) { return tasks[a].id < tasks[b].id; };
    for (size_t i = 0; i < n; ++i) {
        if (child_offsets[i + 1] - child_offsets[i] > 1)
            std::sort(children.begin() + child_offsets[i], children.begin() + child_offsets[i + 1], by_id);
    }
    std::vector<bool> placed(n, false);
    // Where to place `i` from, when no root led to it: the first of its chain of full awaiters
    // on `loop` that is not placed, or the first task met twice on that chain (a cycle), so
    // that every task comes after its full awaiter (as task_trees draws them).
    std::vector<bool> met(n, false);
    const auto first_unplaced_awaiter = [&](size_t i, uint64_t loop) {
        std::vector<size_t> walk{i};
        met[i] = true;
        size_t first = i;
        for (uint32_t up; (up = shown_under[first]) != IdIndex::kAbsent && !placed[up] && tasks[up].loop == loop;) {
            if (met[up]) {
                first = up;
                break;
            }
            met[up] = true;
            walk.push_back(up);
            first = up;
        }
        for (const size_t k : walk) met[k] = false;
        return first;
    };
    std::vector<Task> out;
    out.reserve(n);
    const auto place_tree = [&](size_t root) {
        std::vector<size_t> pending{root};
        while (!pending.empty()) {
            const size_t i = pending.back();
            pending.pop_back();
            if (placed[i]) continue;
            placed[i] = true;
            out.push_back(std::move(tasks[i]));
            for (size_t k = child_offsets[i + 1]; k > child_offsets[i]; --k) pending.push_back(children[k - 1]);
        }
    };
    for (const uint64_t loop : loops) {
        std::vector<size_t> roots, rest;
        for (size_t i = 0; i < n; ++i) {
            if (tasks[i].loop != loop) continue;
            (shown_under[i] == IdIndex::kAbsent ? roots : rest).push_back(i);
        }
        std::sort(roots.begin(), roots.end(), by_id);
        for (const size_t r : roots) place_tree(r);
        // On or behind a cycle, or awaited from another loop: what the roots did not lead to
        // (usually nothing: sorting every awaited task only to skip it cost more than the rest).
        std::erase_if(rest, [&](size_t i) { return placed[i]; });
        std::sort(rest.begin(), rest.end(), by_id);
        for (const size_t r : rest) {
            if (!placed[r]) place_tree(first_unplaced_awaiter(r, loop));
        }
    }
    return out;
}

struct TaskContext {
    const std::unordered_map<uint64_t, int>& loop_threads;  // loop -> the thread running it
    const std::unordered_set<uint64_t>& running_tasks;      // tasks running on a thread
    const TaskLinkReader::Recorded& recorded;               // the awaiters a task records, if any
    std::span<const uint64_t> listed;                       // every task listed, sorted
};

struct ReadTasks {
    std::vector<Task> tasks;
    std::vector<TaskLinks> links;
};

// Tasks are handed to the readers in runs of this many (in_runs_on_two_threads).
constexpr size_t kTasksPerRun = 128;

// The pending tasks among `ids`, each with its stack, as `worker` reads them, into `out`.
void read_tasks(const TaskReader::Worker& worker, TaskLinkReader& link_reader, std::span<const uint64_t> ids,
                const TaskContext& context, ReadTasks& out) {
    AsyncioFutures& futures = worker.x.futures();
    out.tasks.reserve(ids.size());
    out.links.reserve(ids.size());
    for (const uint64_t id : ids) {
        Task task;
        task.id = id;
        TaskLinks link;
        link.task = id;
        try {
            const auto info = futures.read(id);
            if (!info || !info->is_task) throw bad_data("the task list holds a non-task at " + hex(id), id);
            if (info->state != FutureState::Pending) continue;  // done: asyncio.all_tasks() leaves it out
            const FutureDetails details = futures.details(id, *info);
            task.name = info->task_name;
            task.state = details.cancelling ? TaskState::Cancelling : TaskState::Pending;
            task.loop = info->loop;
            link.waiter = details.waiter;
            link.records_awaiters = !info->python_class;
            link.callbacks = futures.callbacks(id, *info);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
            task.stack.root =
                StackRoot{StackRootKind::Task, id, "<Task at " + hex(id) + ">", std::nullopt, std::nullopt};
            task.stack.error = ExtractionError::from(e);
            out.tasks.push_back(std::move(task));
            continue;
        }
        if (const auto thread = context.loop_threads.find(task.loop); thread != context.loop_threads.end())
            task.loop_thread = thread->second;
        task.stack = worker.stack_of(id).stack;
        task.stack.root.kind = StackRootKind::Task;
        // Its coroutine is running on a thread (also when the loop runs another task started
        // eagerly from it); its chain is its coroutines', not what they call.
        task.running = context.running_tasks.count(id) > 0 || task.stack.root.thread_state.has_value();
        if (task.stack.root.thread_state) {
            auto& frames = task.stack.frames;
            const auto first_other =
                std::find_if(frames.begin(), frames.end(), [](const Frame& f) { return !f.coroutine; });
            frames.erase(first_other, frames.end());
        }
        out.tasks.push_back(std::move(task));
        // Its awaiters as far as they are known without the other worker's tasks.
        link_reader.read(link);
        out.links.push_back(std::move(link));
    }
}

// Reads run `run` of `ids` into its ReadTasks.
void read_run(const TaskReader::Worker& worker, TaskLinkReader& link_reader, std::span<const uint64_t> ids,
              const TaskContext& context, size_t run, std::vector<ReadTasks>& runs) {
    const size_t first = run * kTasksPerRun;
    read_tasks(worker, link_reader, ids.subspan(first, std::min(kTasksPerRun, ids.size() - first)), context, runs[run]);
}

}  // namespace

TasksRead TaskReader::read(Snapshot& snap, const StackOf& stack_of, const SecondWorker& second_worker,
                           HelperThread* helper) {
    snap.tasks_asked = true;
    ObjectReader& objects = x_.objects();
    AsyncioRegistry registry(objects, x_.runtime());
    TasksRead out;
    if (!registry.loaded()) return out;
    std::vector<std::string>& problems = out.problems;
    const auto attempt = [&](const std::string& what, auto&& read) { recording_errors(problems, what, read); };

    // Each thread's running loop and task.
    std::unordered_map<uint64_t, int> loop_threads;
    std::unordered_set<uint64_t> running_tasks;
    std::vector<uint64_t> thread_states;
    for (Thread& t : snap.threads) {
        if (!t.thread_state) continue;
        thread_states.push_back(t.thread_state);
        attempt("the running loop of thread " + (t.tid ? std::to_string(*t.tid) : hex(t.thread_state)), [&] {
            t.running_loop = registry.running_loop(t.thread_state);
            if (!t.running_loop) return;
            if (t.tid) loop_threads.emplace(*t.running_loop, *t.tid);
            t.running_task = registry.running_task(t.thread_state, *t.running_loop);
            if (t.running_task) running_tasks.insert(*t.running_task);
        });
    }

    // The registries; on a running target, from fresh pages, until two readings agree (the same
    // tasks and the same problem, if one stays).
    if (target_running_) x_.forget_reads();
    TaskRegistry listed = registry.all_tasks(thread_states);
    if (target_running_ && attempts_ > 1) {
        bool agreed = false;
        for (int attempt_count = 1; attempt_count < attempts_ && !agreed; ++attempt_count) {
            x_.forget_reads();
            TaskRegistry again = registry.all_tasks(thread_states);
            agreed = again.tasks == listed.tasks && again.problem == listed.problem;
            listed = std::move(again);
        }
        if (!agreed) problems.push_back("the task list changed while it was read");
    }
    if (listed.problem) problems.push_back(*listed.problem);

    // Each task's stack: the list in runs, taken in turn by each worker, where there are two.
    const std::optional<Worker> second =
        listed.tasks.size() >= kTasksForTwoWorkers && second_worker ? second_worker() : std::nullopt;
    // Asked before the workers start: then they can read what tasks record from two threads.
    TaskLinkReader::Recorded recorded;
    if (registry.records_awaiters())
        recorded = [&](ObjectReader& reader, uint64_t task) { return registry.recorded_awaiters(reader, task); };
    std::vector<uint64_t> listed_sorted = listed.tasks;
    std::sort(listed_sorted.begin(), listed_sorted.end());
    const TaskContext context{loop_threads, running_tasks, recorded, listed_sorted};
    const std::span<const uint64_t> ids(listed.tasks);
    std::vector<ReadTasks> runs((ids.size() + kTasksPerRun - 1) / kTasksPerRun);
    const Worker first{x_, stack_of};
    const size_t readers = second ? 2 : 1;
    TaskLinkReader first_links(x_.objects(), x_.futures(), recorded, listed_sorted);
    x_.futures().reserve(2 * ids.size() / readers);  // each task and the future it waits on
    const auto first_reads = [&](size_t run) { read_run(first, first_links, ids, context, run, runs); };
    if (!second) {
        for (size_t run = 0; run < runs.size(); ++run) first_reads(run);
    } else {
        TaskLinkReader second_links(second->x.objects(), second->x.futures(), recorded, listed_sorted);
        second->x.futures().reserve(2 * ids.size() / readers);
        out.second_reader = in_runs_on_two_threads(
            runs.size(), first_reads, [&](size_t run) { read_run(*second, second_links, ids, context, run, runs); },
            helper);
    }
    std::vector<std::vector<TaskLinks>> links;
    links.reserve(runs.size());
    out.task_runs.reserve(runs.size());
    for (ReadTasks& run : runs) {
        links.push_back(std::move(run.links));
        out.task_runs.push_back(std::move(run.tasks));
    }

    TaskLinkReader link_reader(objects, x_.futures(), recorded, listed_sorted);
    out.awaiters = TaskAwaiters::read(std::move(links), link_reader, out.awaiter_problems);
    return out;
}

void join_task_lists(Snapshot& snap, TasksRead& read) {
    size_t count = snap.tasks.size();
    for (const auto& run : read.task_runs) count += run.size();
    snap.tasks.reserve(count);
    for (auto& run : read.task_runs) std::move(run.begin(), run.end(), std::back_inserter(snap.tasks));
    read.task_runs.clear();
}

void finish_tasks(Snapshot& snap, TasksRead& read) {
    read.task_runs.insert(read.task_runs.begin(), std::move(snap.tasks));  // whatever was joined before
    TaskLists tasks(read.task_runs);
    IdIndex index(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) index.insert(tasks[i].id, static_cast<uint32_t>(i));
    TaskAwaiters::resolve(read.awaiters, [&](uint64_t task) -> std::vector<TaskAwaiter>* {
        const uint32_t i = index.find(task);
        return i == IdIndex::kAbsent ? nullptr : &tasks[i].awaited_by;
    });
    std::vector<std::string>& problems = read.problems;
    if (!read.awaiter_problems.empty()) problems.push_back(joined_problems(read.awaiter_problems));
    if (!problems.empty())
        snap.tasks_error = ExtractionError{ErrorKind::InconsistentData, joined_problems(problems), std::nullopt};
    const AwaitGraph graph(tasks, index);
    mark_cycles(tasks, graph);
    // The readers' lists are joined by the ordering, the only time the tasks move.
    snap.tasks = ordered(tasks, index, snap.threads);
}

}  // namespace stackscope
