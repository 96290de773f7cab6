#pragma once
// _Py_AsyncioModuleDebugOffsets (3.14+): the _asyncio module's `.AsyncioDebug` section, which
// says where the C tasks' linked lists, a task's awaiters and each thread's running loop and
// task are. It has no cookie: a block is taken only when every value is plausible.
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "cpython/runtime_discovery.hpp"
#include "target/remote_memory.hpp"

namespace stackscope {

struct AsyncioDebugOffsets {
    // asyncio_task_object (TaskObj)
    uint64_t task_size = 0;
    uint64_t task_name = 0;
    uint64_t task_awaited_by = 0;  // one awaiter, or a set of them (task_awaited_by_is_set)
    uint64_t task_is_task = 0;
    uint64_t task_awaited_by_is_set = 0;
    uint64_t task_coro = 0;
    uint64_t task_node = 0;  // struct llist_node {next, prev} on its thread's or interpreter's list
    // asyncio_interpreter_state (PyInterpreterState)
    uint64_t interp_size = 0;
    uint64_t interp_tasks_head = 0;  // tasks of threads that have exited
    // asyncio_thread_state (_PyThreadStateImpl)
    uint64_t tstate_size = 0;
    uint64_t tstate_running_loop = 0;
    uint64_t tstate_running_task = 0;
    uint64_t tstate_tasks_head = 0;

    static constexpr size_t kWords = 13;
    static constexpr size_t kBytes = kWords * 8;
};

// The offsets in `raw` (kBytes bytes), or nullopt when a value is implausible.
std::optional<AsyncioDebugOffsets> parse_asyncio_debug_offsets(std::span<const uint8_t> raw);

struct AsyncioDebugLookup {
    std::optional<AsyncioDebugOffsets> offsets;
    std::string found_in;  // where, for messages
    std::string problem;   // why not found
};

// Looks in the runtime's own file (3.15 builds _asyncio in), then in mapped files named like
// _asyncio's extension module, then (no files: a core without its binaries) scans the
// writable mappings of those files for a plausible block.
AsyncioDebugLookup find_asyncio_debug_offsets(RemoteMemory& memory, const PythonRuntime& runtime);

}  // namespace stackscope
