#pragma once
// Who awaits each asyncio task. 3.14+ tasks record their awaiters; before, the edges are
// rebuilt from what asyncio keeps for its own use:
//   - a task's _fut_waiter is the task it awaits, or a future with tasks behind it: a
//     _GatheringFuture's _children (gather), a shield's outer future, whose done-callback
//     _outer_done_callback holds the `inner` future in its closure (shield), or any nesting of
//     the two (`gather(shield(t))`, `shield(gather(a, b))`);
//   - 3.8-3.11 wait_for(task, timeout): the task's done-callback partial(_release_waiter,
//     waiter) holds the future its awaiter waits on;
//   - TaskGroup: a child's done-callback is the bound TaskGroup._on_task_done, whose
//     __self__._parent_task awaits it (also while the parent is still in the group's body).
// The TaskGroup is kept with its edge on every version: the child hangs under its `async with`.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cpython/asyncio_futures.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/partial_types.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// An edge as read, not yet checked against the tasks.
struct AwaiterEdge {
    uint64_t task = 0;
    uint64_t awaiter = 0;         // the awaiting task, or with `through_future` a future
    uint64_t group = 0;           // the TaskGroup of the edge, or 0
    bool through_future = false;  // the tasks waiting on `awaiter` await `task`
};

// Edges read from one of a task's links (its record, its waiter, its callbacks), and the
// problems met reading them.
struct TaskLinkReadings {
    std::vector<AwaiterEdge> edges;
    std::vector<std::string> problems;
};

struct TaskLinks {
    uint64_t task = 0;
    uint64_t waiter = 0;              // _fut_waiter: the future it waits on, or 0
    std::vector<uint64_t> callbacks;  // its done-callbacks
    bool records_awaiters = false;    // a C task of a version whose tasks record their awaiters
    TaskLinkReadings recorded, waited, called_back;
    bool waiter_read = false;  // `waited` is read (else it depends on which tasks are pending)
};

// What the awaiter pass read from the target, for TaskAwaiters::resolve() once the target runs
// again: the edges, in each task's links, as each reader listed them (the readers' lists are
// not joined while the target is stopped).
struct AwaiterReadings {
    std::vector<std::vector<TaskLinks>> parts;

    size_t size() const {
        size_t n = 0;
        for (const auto& part : parts) n += part.size();
        return n;
    }
    // Each task's links, the parts in order.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (const auto& part : parts)
            for (const TaskLinks& t : part) visit(t);
    }
};

// Reads a task's links as far as they do not depend on which other tasks are pending: in the
// worker that read the task, while the target is stopped.
class TaskLinkReader {
public:
    // `recorded`: the awaiters a task records itself (3.14+), or null where tasks record none.
    using Recorded = std::function<std::vector<uint64_t>(ObjectReader& objects, uint64_t task)>;

    // `listed`: every task of the registries, sorted (the pending ones are among them).
    TaskLinkReader(ObjectReader& objects, AsyncioFutures& futures, const Recorded& recorded,
                   std::span<const uint64_t> listed)
        : objects_(objects), futures_(futures), partials_(objects), recorded_(recorded), listed_(listed) {}

    // Reads `t.recorded`, `t.called_back` and, where it can tell what is a task, `t.waited`.
    // Never throws for bad data: it becomes one of the part's problems.
    void read(TaskLinks& t);
    // Reads `t.waited` knowing the pending tasks.
    void read_waiter(TaskLinks& t, const std::unordered_set<uint64_t>& tasks);

private:
    enum class IsTask { Yes, No, Unknown };
    using IsTaskOf = std::function<IsTask(uint64_t)>;
    void read_waiter(TaskLinks& t, const IsTaskOf& is_task);
    struct GatherWalk {
        std::unordered_set<uint64_t> walked;  // the futures walked
        std::unordered_set<uint64_t> tasks;   // the tasks met (gather(t, t) lists t twice)
        size_t children = 0;                  // the gathers' children, together
    };
    void add_behind(uint64_t future, int depth, const IsTaskOf& is_task, GatherWalk& walk, std::vector<uint64_t>& out);
    // The tasks behind the future `future` (a gather's, a shield's, nested), walked once by this
    // reader (which always tells tasks by one rule): thousands of tasks may await one gather
    // of thousands.
    const std::vector<uint64_t>& tasks_behind(uint64_t future, const IsTaskOf& is_task);
    // The future a shield's outer future `outer` shields; nullopt for any other future.
    std::optional<uint64_t> shield_inner(uint64_t outer);
    void add_from_callback(uint64_t task, uint64_t callback, std::vector<AwaiterEdge>& out);
    // The name of the Python function `function`, read once.
    const std::string& function_name(uint64_t function);

    ObjectReader& objects_;
    AsyncioFutures& futures_;
    PartialTypes partials_;
    const Recorded& recorded_;
    std::span<const uint64_t> listed_;
    // Each TaskGroup's _parent_task, read once for all its children.
    std::unordered_map<uint64_t, std::optional<uint64_t>> group_parents_;
    // The names of the callbacks' functions (TaskGroup._on_task_done, shield's
    // _outer_done_callback...), each read once.
    std::unordered_map<uint64_t, std::string> function_names_;
    // Each future walked: its tasks, or why they could not be read, or that it holds a task
    // this reader cannot tell pending or not.
    struct Gathered {
        std::vector<uint64_t> tasks;
        std::optional<Error> error;
        bool undecided = false;
    };
    std::unordered_map<uint64_t, Gathered> gathered_;
    size_t gathered_children_ = 0;  // children of every gather walked, together
};

class TaskAwaiters {
public:
    // The edges of the tasks in `parts` (each read by a TaskLinkReader), with the waiters it
    // could not read read by `reader`. Their problems are added to `problems` in the order the
    // edges are taken: each task's recorded and waited, then each task's called_back.
    static AwaiterReadings read(std::vector<std::vector<TaskLinks>> parts, TaskLinkReader& reader,
                                std::vector<std::string>& problems);

    // Adds to each task's list of awaiters (`awaited_by_of(task)`; null for a task not listed)
    // those that are themselves among the tasks of `readings`. Reads nothing.
    using AwaitedByOf = std::function<std::vector<TaskAwaiter>*(uint64_t task)>;
    static void resolve(const AwaiterReadings& readings, const AwaitedByOf& awaited_by_of);
};

}  // namespace stackscope
