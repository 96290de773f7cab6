#pragma once
// --tasks as text: each event loop's tasks as trees. A root task (awaited by no task) is a
// Stack; each task it awaits hangs under a context of the awaiting frame (its TaskGroup's
// `async with`, else a context standing for the awaiting line), shown in full under its
// lowest-id awaiter and named under the others.
#include <string>
#include <vector>

#include "stackscope/model.hpp"

namespace stackscope {

struct LoopTasks {
    std::string header;        // `Event loop 0x... on thread TID "NAME": N tasks`
    std::vector<Stack> roots;  // each root with the tasks it awaits inside its contexts
};

// How the tasks a task awaits are shown: in its tree (tree format), or each as a stack of its
// own that names its awaiters (flat format, whose tracebacks do not nest).
enum class TaskLayout { Nested, Listed };

// The loops in the order of snapshot.tasks; empty when no loop and no task was found.
// `stacks_to_take`: snapshot.tasks itself, from a caller done with the tasks' stacks: the
// nested layout moves each task's frames and leaf into its tree instead of copying them (the
// roots and errors stay). Null: the snapshot is left as it is.
std::vector<LoopTasks> task_trees(const Snapshot& snapshot, TaskLayout layout = TaskLayout::Nested,
                                  std::vector<Task>* stacks_to_take = nullptr);

// ` (running task 'NAME')` for a thread whose loop runs a task; "" otherwise.
std::string running_task_note(const Snapshot& snapshot, const Thread& thread);

}  // namespace stackscope
