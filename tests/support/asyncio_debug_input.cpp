// Fuzz entry point of the .AsyncioDebug block parser: the block has no cookie, and a core
// without its binaries is scanned for it, so whatever it accepts must be safe to read by.
#include "cpython/asyncio_debug.hpp"
#include "fuzz_inputs.hpp"

namespace stackscope_fuzz {

namespace {

bool inside(uint64_t offset, uint64_t width, uint64_t size) { return offset < size && width <= size - offset; }

}  // namespace

Outcome asyncio_debug(std::span<const uint8_t> data) {
    if (data.size() < stackscope::AsyncioDebugOffsets::kBytes) return Outcome::TooShort;
    const auto o = stackscope::parse_asyncio_debug_offsets(data);
    if (!o) return Outcome::Error;
    for (const uint64_t pointer : {o->task_name, o->task_awaited_by, o->task_coro})
        require(inside(pointer, 8, o->task_size));
    require(inside(o->task_node, 16, o->task_size));
    require(inside(o->task_is_task, 1, o->task_size) && inside(o->task_awaited_by_is_set, 1, o->task_size));
    require(inside(o->interp_tasks_head, 16, o->interp_size));
    for (const uint64_t pointer : {o->tstate_running_loop, o->tstate_running_task})
        require(inside(pointer, 8, o->tstate_size));
    require(inside(o->tstate_tasks_head, 16, o->tstate_size));
    return Outcome::Value;
}

}  // namespace stackscope_fuzz
