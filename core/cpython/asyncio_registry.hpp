#pragma once
// asyncio's own records, read from outside: the tasks it knows (what asyncio.all_tasks()
// iterates), each thread's running loop and each loop's running task, and (3.14+) the awaiters
// a task records. Where each lives is per-version data (PythonLayout: running_loop,
// asyncio_debug_offsets; the registries' names).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/id_index.hpp"
#include "cpython/asyncio_debug.hpp"
#include "cpython/object_reader.hpp"
#include "cpython/runtime_discovery.hpp"

namespace stackscope {

struct TaskRegistry {
    std::vector<uint64_t> tasks;         // each once, in the order listed; finished ones included
    std::optional<std::string> problem;  // why (part of) the list could not be read
};

class AsyncioRegistry {
public:
    AsyncioRegistry(ObjectReader& objects, const PythonRuntime& runtime) : objects_(objects), runtime_(runtime) {}

    // Whether the target has imported asyncio's tasks (else it has no tasks and no loops).
    bool loaded();

    // Every task of the registries: the Python ones (WeakSets and the eager set, by name) and,
    // 3.14+, the C tasks' lists of `thread_states` and of every interpreter.
    TaskRegistry all_tasks(std::span<const uint64_t> thread_states);

    // The loop `tstate` is running (asyncio.get_running_loop() there); nullopt when none.
    // Throws Error when what holds it cannot be read.
    std::optional<uint64_t> running_loop(uint64_t tstate);
    // The task `loop` is running on `tstate`; nullopt when none. Throws Error.
    std::optional<uint64_t> running_task(uint64_t tstate, uint64_t loop);

    // Whether tasks record their awaiters (3.14+: TaskGroup, gather and awaiting a task add them).
    bool records_awaiters();
    // The awaiters a C task records (3.14+), read through `objects` (this reader's or another's
    // of the same target: safe from several threads at once once records_awaiters() has been
    // asked); empty when it records none. Throws Error.
    std::vector<uint64_t> recorded_awaiters(ObjectReader& objects, uint64_t task);

    // Why the 3.14+ lists could not be found ("" when found, or not needed).
    const std::string& debug_offsets_problem();

private:
    const AsyncioDebugOffsets* debug_offsets();
    void add_weak_set(uint64_t weak_set, TaskRegistry& out);
    void add_linked_list(uint64_t head, TaskRegistry& out);
    void add(uint64_t task, TaskRegistry& out);

    ObjectReader& objects_;
    const PythonRuntime& runtime_;
    std::optional<AsyncioDebugLookup> debug_;  // looked up once, when first needed
    IdIndex seen_;                             // tasks already added, by their place in the list
    IdIndex list_nodes_;                       // the nodes of the task lists walked (3.14+)
    // _current_tasks (to 3.13), {loop: task}, read once for every thread's loop.
    std::optional<std::unordered_map<uint64_t, uint64_t>> current_tasks_;
};

}  // namespace stackscope
