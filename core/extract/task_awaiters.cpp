#include "extract/task_awaiters.hpp"

#include <algorithm>
#include <iterator>

#include "common/error_list.hpp"
#include "common/id_index.hpp"
#include "cpython/function_closure.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {
constexpr int kMaxGatherNesting = 64;
constexpr size_t kMaxChildren = 1 << 20;
// Children of all the gathers one reader walks: each gather is walked once, but a hostile
// target can give each of thousands of tasks a gather of its own.
constexpr size_t kMaxChildrenInAll = size_t{1} << 23;

// A waiter that may be a task this reader cannot tell pending or not: its edges are read again
// by one that can.
struct Undecided {};
}  // namespace

// The tasks behind a future that is not a task: a _GatheringFuture's children (gather), a
// shield's inner future (shield), each a task or such a future again. Each future is walked
// once (`gather(g, g)` lists g twice: nested, that doubles at every level), each task is taken
// once, and all the gathers hold at most kMaxChildren children together.
void TaskLinkReader::add_behind(uint64_t future, int depth, const IsTaskOf& is_task, GatherWalk& walk,
                                std::vector<uint64_t>& out) {
    if (depth > kMaxGatherNesting) throw bad_data("gather and shield futures nest too deep at " + hex(future), future);
    const auto add = [&](uint64_t inner) {
        switch (is_task(inner)) {
            case IsTask::Yes:
                if (walk.tasks.insert(inner).second) out.push_back(inner);
                break;
            case IsTask::No: add_behind(inner, depth + 1, is_task, walk, out); break;
            case IsTask::Unknown: throw Undecided{};
        }
    };
    const auto children = objects_.attribute(future, "_children");
    if (!children || objects_.match(*children, BuiltinType::List) == TypeMatch::No) {
        const auto inner = shield_inner(future);
        if (inner && walk.walked.insert(future).second) add(*inner);
        return;
    }
    if (!walk.walked.insert(future).second) return;
    for (const uint64_t child : objects_.sequence_items(*children, false, kMaxChildren)) {
        if (++walk.children > kMaxChildren)
            throw bad_data("gather futures hold over " + std::to_string(kMaxChildren) + " children", future);
        if (++gathered_children_ > kMaxChildrenInAll)
            throw bad_data("the gather futures hold over " + std::to_string(kMaxChildrenInAll) + " children in all",
                           future);
        add(child);
    }
}

const std::vector<uint64_t>& TaskLinkReader::tasks_behind(uint64_t future, const IsTaskOf& is_task) {
    auto known = gathered_.find(future);
    if (known == gathered_.end()) {
        Gathered found;
        try {
            GatherWalk walk;
            add_behind(future, 0, is_task, walk, found.tasks);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
            found.tasks.clear();
            found.error = e;
        } catch (const Undecided&) {
            found.tasks.clear();
            found.undecided = true;
        }
        known = gathered_.emplace(future, std::move(found)).first;
    }
    if (known->second.undecided) throw Undecided{};
    if (known->second.error) throw *known->second.error;
    return known->second.tasks;
}

std::optional<uint64_t> TaskLinkReader::shield_inner(uint64_t outer) {
    const FutureInfo* info = futures_.read(outer);
    if (!info || info->is_task) return std::nullopt;
    // shield() adds it to the new outer future before anything can await it: the first.
    const uint64_t callback = futures_.first_callback(outer, *info);
    // Most futures' first callback is a bound builtin method (Task.task_wakeup): no function.
    if (!callback || !objects_.is_instance_or_named(callback, BuiltinType::Function, "function") ||
        function_name(callback) != "_outer_done_callback")
        return std::nullopt;
    for (const ClosureVariable& v : closure_variables(objects_, callback, kMaxLibraryClosureCells)) {
        if (v.name == "inner") return v.value;
    }
    return std::nullopt;
}

const std::string& TaskLinkReader::function_name(uint64_t function) {
    auto known = function_names_.find(function);
    if (known == function_names_.end())
        known = function_names_.emplace(function, function_name_of(objects_, function)).first;
    return known->second;
}

void TaskLinkReader::add_from_callback(uint64_t task, uint64_t callback, std::vector<AwaiterEdge>& out) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    if (objects_.is_instance_or_named(callback, BuiltinType::Method, "method")) {
        if (function_name(mem.read_pointer(callback + static_cast<uint64_t>(l.method_func))) != "_on_task_done") return;
        const uint64_t group = mem.read_pointer(callback + static_cast<uint64_t>(l.method_self));
        auto known = group_parents_.find(group);
        if (known == group_parents_.end())
            known = group_parents_.emplace(group, objects_.attribute(group, "_parent_task")).first;
        const std::optional<uint64_t> parent = known->second;
        if (parent) out.push_back({task, *parent, group, false});
        return;
    }
    // 3.8-3.11 wait_for(task, timeout) waits on a future of its own, `waiter`, that the task's
    // done-callback partial(_release_waiter, waiter) completes.
    if (!partials_.is_partial(callback)) return;
    if (function_name(mem.read_pointer(callback + static_cast<uint64_t>(l.partial_func))) != "_release_waiter") return;
    const uint64_t args = mem.read_pointer(callback + static_cast<uint64_t>(l.partial_args));
    if (!objects_.is_instance_or_named(args, BuiltinType::Tuple, "tuple") ||
        mem.read_value<int64_t>(args + static_cast<uint64_t>(l.var_size)) < 1)
        return;
    out.push_back({task, objects_.tuple_item(args, 0), 0, true});
}

namespace {
void attempt(TaskLinkReadings& part, uint64_t task, auto&& read) {
    recording_errors(
        part.problems, [task] { return "awaiters of the task at " + hex(task); }, read);
}
}  // namespace

void TaskLinkReader::read_waiter(TaskLinks& t, const IsTaskOf& is_task) {
    t.waited = {};
    t.waiter_read = false;
    if (!t.waiter) return;
    try {
        attempt(t.waited, t.task, [&] {
            switch (is_task(t.waiter)) {
                case IsTask::Yes: t.waited.edges.push_back({t.waiter, t.task, 0, false}); break;
                case IsTask::No:
                    for (const uint64_t task : tasks_behind(t.waiter, is_task))
                        t.waited.edges.push_back({task, t.task, 0, false});
                    break;
                case IsTask::Unknown: throw Undecided{};
            }
        });
        t.waiter_read = true;
    } catch (const Undecided&) {
        t.waited = {};
    }
}

void TaskLinkReader::read(TaskLinks& t) {
    if (recorded_ && t.records_awaiters) {
        attempt(t.recorded, t.task, [&] {
            for (const uint64_t awaiter : recorded_(objects_, t.task))
                t.recorded.edges.push_back({t.task, awaiter, 0, false});
        });
    }
    // Not among the listed tasks: surely not a pending one.
    read_waiter(t, [&](uint64_t object) {
        return std::binary_search(listed_.begin(), listed_.end(), object) ? IsTask::Unknown : IsTask::No;
    });
    for (const uint64_t callback : t.callbacks)
        attempt(t.called_back, t.task, [&] { add_from_callback(t.task, callback, t.called_back.edges); });
}

void TaskLinkReader::read_waiter(TaskLinks& t, const std::unordered_set<uint64_t>& tasks) {
    read_waiter(t, [&](uint64_t object) { return tasks.count(object) ? IsTask::Yes : IsTask::No; });
}

AwaiterReadings TaskAwaiters::read(std::vector<std::vector<TaskLinks>> parts, TaskLinkReader& reader,
                                   std::vector<std::string>& problems) {
    AwaiterReadings out{std::move(parts)};
    std::unordered_set<uint64_t> pending;  // only when a waiter needs it
    const auto take = [&](TaskLinkReadings& part) {
        std::move(part.problems.begin(), part.problems.end(), std::back_inserter(problems));
    };
    for (std::vector<TaskLinks>& part : out.parts) {
        for (TaskLinks& t : part) {
            take(t.recorded);
            if (!t.waiter) continue;
            if (!t.waiter_read) {
                if (pending.empty()) {
                    pending.reserve(out.size());
                    out.for_each([&](const TaskLinks& other) { pending.insert(other.task); });
                }
                reader.read_waiter(t, pending);
            }
            take(t.waited);
        }
    }
    for (std::vector<TaskLinks>& part : out.parts)
        for (TaskLinks& t : part) take(t.called_back);
    return out;
}

void TaskAwaiters::resolve(const AwaiterReadings& readings, const AwaitedByOf& awaited_by_of) {
    IdIndex is_task(readings.size());
    uint32_t position = 0;
    readings.for_each([&](const TaskLinks& t) { is_task.insert(t.task, position++); });
    // Future -> the tasks waiting on it: made for the first edge through a future (most
    // snapshots have none).
    std::optional<std::unordered_map<uint64_t, std::vector<uint64_t>>> waiting_on;
    const auto tasks_waiting_on = [&](uint64_t future) -> const std::vector<uint64_t>* {
        if (!waiting_on) {
            waiting_on.emplace();
            waiting_on->reserve(readings.size());
            readings.for_each([&](const TaskLinks& t) {
                if (t.waiter) (*waiting_on)[t.waiter].push_back(t.task);
            });
        }
        const auto waiting = waiting_on->find(future);
        return waiting == waiting_on->end() ? nullptr : &waiting->second;
    };
    // A task's awaiters by id, once it has many (10,000 tasks awaiting one): awaiter -> its
    // place in the task's list. A short list is searched.
    constexpr size_t kIndexedAwaiters = 16;
    std::unordered_map<uint64_t, std::unordered_map<uint64_t, size_t>> indexed;
    const auto add = [&](uint64_t task, TaskAwaiter awaiter) {
        if (!is_task.contains(task) || !is_task.contains(awaiter.task)) return;
        std::vector<TaskAwaiter>* list = awaited_by_of(task);
        if (!list) return;
        TaskAwaiter* known = nullptr;
        if (list->size() < kIndexedAwaiters) {
            for (TaskAwaiter& k : *list) {
                if (k.task == awaiter.task) known = &k;
            }
        } else {
            auto [index, made] = indexed.try_emplace(task);
            if (made) {
                for (size_t i = 0; i < list->size(); ++i) index->second.emplace((*list)[i].task, i);
            }
            const auto found = index->second.find(awaiter.task);
            if (found != index->second.end()) known = &(*list)[found->second];
            else index->second.emplace(awaiter.task, list->size());
        }
        if (known) {
            if (!known->group) known->group = awaiter.group;
            return;
        }
        list->push_back(awaiter);
    };
    const auto add_all = [&](const TaskLinkReadings& part) {
        for (const AwaiterEdge& e : part.edges) {
            if (!e.through_future) {
                add(e.task, {e.awaiter, e.group});
            } else if (const std::vector<uint64_t>* waiting = tasks_waiting_on(e.awaiter)) {
                for (const uint64_t awaiter : *waiting) add(e.task, {awaiter, 0});
            }
        }
    };
    readings.for_each([&](const TaskLinks& t) {
        add_all(t.recorded);
        add_all(t.waited);
    });
    // Callbacks last: a TaskGroup edge then names its group also where it was recorded.
    readings.for_each([&](const TaskLinks& t) { add_all(t.called_back); });
}

}  // namespace stackscope
