#include "cpython/asyncio_registry.hpp"

#include <algorithm>
#include <unordered_set>

#include "common/error_list.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

constexpr size_t kMaxTasks = 1 << 20;
constexpr size_t kMaxInterpreters = 1024;
constexpr size_t kMaxAwaiters = 1 << 16;

// The module whose globals hold the registries (what asyncio.tasks imports from _asyncio).
constexpr std::string_view kTasksModule = "asyncio.tasks";
// WeakSets of tasks: _all_tasks to 3.11, _scheduled_tasks from 3.12; a plain set of the
// tasks running their first step eagerly (3.12+). A version has the ones it has.
constexpr std::string_view kWeakSetRegistries[] = {"_all_tasks", "_scheduled_tasks"};
constexpr std::string_view kSetRegistries[] = {"_eager_tasks"};
// asyncio's key in the thread-state dict (to 3.12).
constexpr std::string_view kRunningLoopKey = "__asyncio_running_event_loop__";

}  // namespace

bool AsyncioRegistry::loaded() {
    try {
        return objects_.module_global(kTasksModule, "Task").has_value();
    } catch (const Error&) {
        return false;
    }
}

const AsyncioDebugOffsets* AsyncioRegistry::debug_offsets() {
    if (!objects_.layout().asyncio_debug_offsets) return nullptr;
    if (!debug_) debug_ = find_asyncio_debug_offsets(objects_.memory(), runtime_);
    return debug_->offsets ? &*debug_->offsets : nullptr;
}

const std::string& AsyncioRegistry::debug_offsets_problem() {
    static const std::string kNone;
    if (!objects_.layout().asyncio_debug_offsets) return kNone;
    debug_offsets();
    return debug_->problem;
}

void AsyncioRegistry::add(uint64_t task, TaskRegistry& out) {
    if (task == 0 || seen_.contains(task)) return;
    if (seen_.size() >= kMaxTasks) throw bad_data("more than " + std::to_string(kMaxTasks) + " tasks");
    seen_.insert(task, static_cast<uint32_t>(out.tasks.size()));
    out.tasks.push_back(task);
}

// WeakSet.data: a set of weak references; a dead one refers to None.
void AsyncioRegistry::add_weak_set(uint64_t weak_set, TaskRegistry& out) {
    const auto data = objects_.attribute(weak_set, "data");
    if (!data) throw bad_data("the WeakSet at " + hex(weak_set) + " has no data", weak_set);
    objects_.require_unless_unknown(*data, BuiltinType::Set);
    const uint64_t offset = objects_.layout().weakref_object;
    // One entry that cannot be read (a page missing from a core) loses that task, not the rest.
    size_t unreadable = 0;
    std::string first_problem;
    for (const uint64_t ref : objects_.set_items(*data, kMaxTasks)) {
        try {
            const uint64_t task = objects_.memory().read_pointer(ref + offset);
            if (task != 0 && !objects_.is_instance_of(task, BuiltinType::NoneType)) add(task, out);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal || seen_.size() >= kMaxTasks) throw;
            if (unreadable++ == 0) first_problem = e.what();
        }
    }
    if (unreadable)
        throw bad_data(std::to_string(unreadable) +
                           " of the WeakSet's entries could not be read (the first: " + first_problem + ")",
                       weak_set);
}

// A circular list of llist_node {next, prev} through each task's task_node, headed by `head`.
void AsyncioRegistry::add_linked_list(uint64_t head, TaskRegistry& out) {
    RemoteMemory& mem = objects_.memory();
    const uint64_t node_offset = debug_offsets()->task_node;
    // The nodes of every list walked in this reading: the lists hold each task once, so a list
    // that meets a node again loops or runs into another list (walking one shared ring for
    // each of thousands of thread states would never end), and all of them together are bounded.
    for (uint64_t node = mem.read_pointer(head); node != head; node = mem.read_pointer(node)) {
        if (node == 0) throw bad_data("the task list at " + hex(head) + " ends in NULL", head);
        if (list_nodes_.contains(node) || list_nodes_.size() >= kMaxTasks)
            throw bad_data(
                "the task list at " + hex(head) + " loops, meets another list or is too long at " + hex(node), node);
        list_nodes_.insert(node, 0);
        add(node - node_offset, out);
    }
}

TaskRegistry AsyncioRegistry::all_tasks(std::span<const uint64_t> thread_states) {
    TaskRegistry out;
    seen_ = IdIndex();
    list_nodes_ = IdIndex();
    std::vector<std::string> problems;
    const auto attempt = [&](const std::string& what, auto&& read) { recording_errors(problems, what, read); };
    for (const std::string_view name : kWeakSetRegistries) {
        attempt("asyncio's " + std::string(name), [&] {
            if (const auto set = objects_.module_global(kTasksModule, name)) add_weak_set(*set, out);
        });
    }
    for (const std::string_view name : kSetRegistries) {
        attempt("asyncio's " + std::string(name), [&] {
            const auto set = objects_.module_global(kTasksModule, name);
            if (!set) return;
            objects_.require_unless_unknown(*set, BuiltinType::Set);
            for (const uint64_t task : objects_.set_items(*set, kMaxTasks)) add(task, out);
        });
    }
    if (objects_.layout().asyncio_debug_offsets) {
        if (const AsyncioDebugOffsets* d = debug_offsets()) {
            for (const uint64_t tstate : thread_states) {
                attempt("the task list of the thread state at " + hex(tstate),
                        [&] { add_linked_list(tstate + d->tstate_tasks_head, out); });
            }
            // Tasks of threads that have exited move to their interpreter's list; one broken
            // list loses its own tasks only.
            attempt("the interpreters' task lists", [&] {
                RemoteMemory& mem = objects_.memory();
                const PythonLayout& l = objects_.layout();
                std::unordered_set<uint64_t> interpreters;
                for (uint64_t interp = mem.read_pointer(runtime_.address + l.runtime_interpreters_head); interp != 0;
                     interp = mem.read_pointer(interp + l.interp_next)) {
                    if (!interpreters.insert(interp).second || interpreters.size() > kMaxInterpreters)
                        throw bad_data("the interpreter list loops at " + hex(interp), interp);
                    attempt("the task list of the interpreter at " + hex(interp),
                            [&] { add_linked_list(interp + d->interp_tasks_head, out); });
                }
            });
        } else {
            problems.push_back(debug_->problem);
        }
    }
    if (!problems.empty()) out.problem = joined_problems(problems);
    return out;
}

std::optional<uint64_t> AsyncioRegistry::running_loop(uint64_t tstate) {
    RemoteMemory& mem = objects_.memory();
    const PythonLayout& l = objects_.layout();
    uint64_t loop = 0;
    switch (l.running_loop) {
        case RunningLoopSource::ThreadStateDict: {
            const uint64_t dict = mem.read_pointer(tstate + l.tstate_dict);
            if (dict == 0) return std::nullopt;
            const auto value = objects_.dict_get(dict, kRunningLoopKey);
            if (!value) return std::nullopt;
            loop = *value;
            // To 3.11 the dict holds a _RunningLoopHolder {loop, pid}.
            if (l.running_loop_holder_loop != kAbsent && !objects_.is_instance_of(loop, BuiltinType::NoneType))
                loop = mem.read_pointer(loop + l.running_loop_holder_loop);
            break;
        }
        case RunningLoopSource::ThreadStateImpl:
            if (l.tstate_size == kAbsent) return std::nullopt;
            loop = mem.read_pointer(tstate + l.tstate_size);
            break;
        case RunningLoopSource::AsyncioDebug: {
            const AsyncioDebugOffsets* d = debug_offsets();
            if (!d) return std::nullopt;
            loop = mem.read_pointer(tstate + d->tstate_running_loop);
            break;
        }
    }
    if (loop == 0 || objects_.is_instance_of(loop, BuiltinType::NoneType)) return std::nullopt;
    return loop;
}

std::optional<uint64_t> AsyncioRegistry::running_task(uint64_t tstate, uint64_t loop) {
    if (const AsyncioDebugOffsets* d = debug_offsets()) {
        const uint64_t task = objects_.memory().read_pointer(tstate + d->tstate_running_task);
        if (task == 0 || objects_.is_instance_of(task, BuiltinType::NoneType)) return std::nullopt;
        return task;
    }
    // _current_tasks: {loop: task} (to 3.13).
    if (!current_tasks_) {
        current_tasks_.emplace();
        const auto current = objects_.module_global(kTasksModule, "_current_tasks");
        if (!current) return std::nullopt;
        objects_.require_unless_unknown(*current, BuiltinType::Dict);
        for (const auto& entry : objects_.dict_items(*current, kMaxTasks))
            current_tasks_->emplace(entry.key, entry.value);
    }
    const auto task = current_tasks_->find(loop);
    if (task == current_tasks_->end()) return std::nullopt;
    return task->second;
}

bool AsyncioRegistry::records_awaiters() { return debug_offsets() != nullptr; }

std::vector<uint64_t> AsyncioRegistry::recorded_awaiters(ObjectReader& objects, uint64_t task) {
    const AsyncioDebugOffsets* d = debug_offsets();
    if (!d) return {};
    RemoteMemory& mem = objects.memory();
    const uint64_t awaited_by = mem.read_pointer(task + d->task_awaited_by);
    if (awaited_by == 0) return {};
    if (mem.read_value<uint8_t>(task + d->task_awaited_by_is_set) == 0) return {awaited_by};
    objects.require_unless_unknown(awaited_by, BuiltinType::Set);
    return objects.set_items(awaited_by, kMaxAwaiters);
}

}  // namespace stackscope
