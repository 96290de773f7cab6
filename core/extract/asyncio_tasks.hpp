#pragma once
// --tasks: every pending asyncio task of the target, with its coroutine's stack, its loop and
// the thread running that loop, and who awaits it; each thread's running loop and task.
#include <cstdint>
#include <functional>

#include "extract/extraction.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

class TaskReader {
public:
    // How a task's stack is read: its await chain with contexts (and locals), re-read until
    // stable on a running target (snapshot.cpp's read_object), described by its repr without
    // `wait_for=` and `cb=`.
    using StackOf = std::function<ObjectStack(uint64_t task)>;

    TaskReader(Extraction& x, bool target_running, int attempts)
        : x_(x), target_running_(target_running), attempts_(attempts) {}

    // Fills snap.tasks (in the registries' order: arrange_tasks() orders them), tasks_error,
    // and each thread's running_loop and running_task. Errors are recorded, never thrown
    // (but Error(Internal)).
    void read(Snapshot& snap, const StackOf& stack_of);

private:
    Extraction& x_;
    bool target_running_;
    int attempts_;
};

// Marks the tasks on a cycle of awaits and orders snap.tasks: by loop; in each, every root before
// the tasks it awaits. Reads nothing from the target (take_snapshot runs it once it is done with it).
void arrange_tasks(Snapshot& snap);

}  // namespace stackscope
