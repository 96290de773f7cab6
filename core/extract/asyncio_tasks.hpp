#pragma once
// --tasks: every pending asyncio task of the target, with its coroutine's stack, its loop and
// the thread running that loop, and who awaits it; each thread's running loop and task.
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "extract/extraction.hpp"
#include "extract/task_awaiters.hpp"
#include "stackscope/helper_thread.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// What TaskReader::read() leaves for finish_tasks(), which needs no more of the target.
struct TasksRead {
    AwaiterReadings awaiters;
    std::vector<std::string> problems;          // met reading the tasks
    std::vector<std::string> awaiter_problems;  // met reading their awaiters
    // The tasks, in the registries' order, in the runs the readers took them in: joining them
    // moves thousands of tasks, so it waits for the target to run again.
    std::vector<std::vector<Task>> task_runs;
    // The second reader's thread (none on a HelperThread): it has handed over its tasks, and is
    // joined once the target runs again (a thread's exit frees what its allocator kept for it).
    std::jthread second_reader;
};

class TaskReader {
public:
    // How a task's stack is read: its await chain with contexts (and locals), re-read until
    // stable on a running target (snapshot.cpp's read_object), described by its repr without
    // `wait_for=` and `cb=`.
    using StackOf = std::function<ObjectStack(uint64_t task)>;
    // What reads tasks: an Extraction and the stack reader over it.
    struct Worker {
        Extraction& x;
        StackOf stack_of;
    };
    // A second worker over its own Extraction, for a long task list on a target whose memory
    // can be read from two threads at once; nullopt when there is none. Asked once at most.
    using SecondWorker = std::function<std::optional<Worker>()>;
    // Tasks below this many are read by one worker.
    static constexpr size_t kTasksForTwoWorkers = 512;

    TaskReader(Extraction& x, bool target_running, int attempts)
        : x_(x), target_running_(target_running), attempts_(attempts) {}

    // Reads the tasks into TasksRead::task_runs (in the registries' order: finish_tasks() joins
    // them into snap.tasks and orders them) and sets each thread's running_loop and running_task.
    // Errors are recorded, never thrown (but Error(Internal)).
    // The second worker runs on `helper`, when given.
    TasksRead read(Snapshot& snap, const StackOf& stack_of, const SecondWorker& second_worker = {},
                   HelperThread* helper = nullptr);

private:
    Extraction& x_;
    bool target_running_;
    int attempts_;
};

// Appends the tasks read to snap.tasks (finish_tasks() joins them as it orders them).
void join_task_lists(Snapshot& snap, TasksRead& read);

// Sets each task's awaiters and snap.tasks_error, marks the tasks on a cycle of awaits and orders
// snap.tasks: by loop; in each, every root before the tasks it awaits. Reads nothing from the
// target (take_snapshot runs it once it is done with it). Leaves `read` with what the tasks were
// moved out of, for the caller to free where it costs least.
void finish_tasks(Snapshot& snap, TasksRead& read);

}  // namespace stackscope
