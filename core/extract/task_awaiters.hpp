#pragma once
// Who awaits each asyncio task. 3.14+ tasks record their awaiters; before, the edges are
// rebuilt from what asyncio keeps for its own use:
//   - a task's _fut_waiter is the task it awaits, or a _GatheringFuture whose _children it
//     awaits (gather), or any other future;
//   - shield(): the inner task's done-callback _inner_done_callback holds the `outer` future
//     in its closure; the tasks waiting on `outer` await the inner task;
//   - TaskGroup: a child's done-callback is the bound TaskGroup._on_task_done, whose
//     __self__._parent_task awaits it (also while the parent is still in the group's body).
// The TaskGroup is kept with its edge on every version: the child hangs under its `async with`.
#include <cstdint>
#include <optional>
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cpython/object_reader.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

struct TaskLinks {
    uint64_t task = 0;
    uint64_t waiter = 0;              // _fut_waiter: the future it waits on, or 0
    std::vector<uint64_t> callbacks;  // its done-callbacks
    bool records_awaiters = false;    // a C task of a version whose tasks record their awaiters
};

// What the awaiter pass read from the target, for resolve() once the target runs again: the
// edges in the order they were found, not yet checked against the tasks.
struct AwaiterReadings {
    struct Edge {
        uint64_t task = 0;
        uint64_t awaiter = 0;  // the awaiting task, or with `shielded` the shield's outer future
        uint64_t group = 0;    // the TaskGroup of the edge, or 0
        bool shielded = false;
    };
    std::vector<TaskLinks> tasks;
    std::vector<Edge> edges;
};

class TaskAwaiters {
public:
    // `recorded`: the awaiters a task records itself (3.14+), or null where tasks record none.
    using Recorded = std::function<std::vector<uint64_t>(uint64_t task)>;

    explicit TaskAwaiters(ObjectReader& objects) : objects_(objects) {}

    // Everything the target holds about the awaiters of `tasks`. Never throws for bad data: an
    // unreadable link is left out and counted in `problems`.
    AwaiterReadings read(std::vector<TaskLinks> tasks, const Recorded& recorded, std::vector<std::string>& problems);

    // The awaiters of each task that are themselves among the tasks. Reads nothing.
    static std::unordered_map<uint64_t, std::vector<TaskAwaiter>> resolve(const AwaiterReadings& readings);

private:
    void add_gathered(uint64_t gathering, uint64_t awaiter, int depth);
    void add_from_callback(uint64_t task, uint64_t callback);

    ObjectReader& objects_;
    std::vector<AwaiterReadings::Edge> edges_;
    std::unordered_set<uint64_t> is_task_;  // the tasks asked about
    // Each TaskGroup's _parent_task, read once for all its children.
    std::unordered_map<uint64_t, std::optional<uint64_t>> group_parents_;
};

}  // namespace stackscope
