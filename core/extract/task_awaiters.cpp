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

// gather(): a _GatheringFuture's children are tasks or, for a gather of gathers,
// _GatheringFutures again. Each is walked once (`gather(g, g)` lists g twice: nested, that
// doubles at every level), each task is taken once, and all of them hold at most kMaxChildren
// children together.
void TaskLinkReader::add_gathered(uint64_t gathering, int depth, const IsTaskOf& is_task, GatherWalk& walk,
                                  std::vector<uint64_t>& out) {
    if (depth > kMaxGatherNesting) throw bad_data("gather futures nest too deep at " + hex(gathering), gathering);
    const auto children = objects_.attribute(gathering, "_children");
    if (!children || objects_.match(*children, BuiltinType::List) == TypeMatch::No) return;
    if (!walk.walked.insert(gathering).second) return;
    for (const uint64_t child : objects_.sequence_items(*children, false, kMaxChildren)) {
        if (++walk.children > kMaxChildren)
            throw bad_data("gather futures hold over " + std::to_string(kMaxChildren) + " children", gathering);
        if (++gathered_children_ > kMaxChildrenInAll)
            throw bad_data("the gather futures hold over " + std::to_string(kMaxChildrenInAll) + " children in all",
                           gathering);
        switch (is_task(child)) {
            case IsTask::Yes:
                if (walk.tasks.insert(child).second) out.push_back(child);
                break;
            case IsTask::No: add_gathered(child, depth + 1, is_task, walk, out); break;
            case IsTask::Unknown: throw Undecided{};
        }
    }
}

const std::vector<uint64_t>& TaskLinkReader::gathered_tasks(uint64_t gathering, const IsTaskOf& is_task) {
    auto known = gathered_.find(gathering);
    if (known == gathered_.end()) {
        Gathered found;
        try {
            GatherWalk walk;
            add_gathered(gathering, 0, is_task, walk, found.tasks);
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::Internal) throw;
            found.tasks.clear();
            found.error = e;
        } catch (const Undecided&) {
            found.tasks.clear();
            found.undecided = true;
        }
        known = gathered_.emplace(gathering, std::move(found)).first;
    }
    if (known->second.undecided) throw Undecided{};
    if (known->second.error) throw *known->second.error;
    return known->second.tasks;
}

void TaskLinkReader::add_from_callback(uint64_t task, uint64_t callback, std::vector<AwaiterEdge>& out) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    if (objects_.is_instance_or_named(callback, BuiltinType::Method, "method")) {
        const uint64_t function = mem.read_pointer(callback + static_cast<uint64_t>(l.method_func));
        auto named = on_task_done_.find(function);
        if (named == on_task_done_.end())
            named = on_task_done_.emplace(function, function_name_of(objects_, function) == "_on_task_done").first;
        if (!named->second) return;
        const uint64_t group = mem.read_pointer(callback + static_cast<uint64_t>(l.method_self));
        auto known = group_parents_.find(group);
        if (known == group_parents_.end())
            known = group_parents_.emplace(group, objects_.attribute(group, "_parent_task")).first;
        const std::optional<uint64_t> parent = known->second;
        if (parent) out.push_back({task, *parent, group, false});
        return;
    }
    if (function_name_of(objects_, callback) != "_inner_done_callback") return;
    // asyncio.shield's _inner_done_callback closes over `inner` and `outer` (and `loop`, 3.8).
    for (const ClosureVariable& v : closure_variables(objects_, callback, kMaxLibraryClosureCells)) {
        if (v.name == "outer") out.push_back({task, v.value, 0, true});
    }
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
                    for (const uint64_t task : gathered_tasks(t.waiter, is_task))
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
    // Future -> the tasks waiting on it: made for the first shield met (most snapshots have none).
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
            if (!e.shielded) {
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
