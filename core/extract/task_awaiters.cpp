#include "extract/task_awaiters.hpp"

#include <algorithm>

#include "common/error_list.hpp"
#include "cpython/function_closure.hpp"
#include "stackscope/error.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {
constexpr int kMaxGatherNesting = 64;
constexpr size_t kMaxChildren = 1 << 20;
}  // namespace

// gather(): `awaiter` waits on a _GatheringFuture; its children are tasks or, for a gather of
// gathers, _GatheringFutures again.
void TaskAwaiters::add_gathered(uint64_t gathering, uint64_t awaiter, int depth) {
    if (depth > kMaxGatherNesting) throw bad_data("gather futures nest too deep at " + hex(gathering), gathering);
    const auto children = objects_.attribute(gathering, "_children");
    if (!children || objects_.match(*children, BuiltinType::List) == TypeMatch::No) return;
    for (const uint64_t child : objects_.sequence_items(*children, false, kMaxChildren)) {
        if (is_task_.count(child)) edges_.push_back({child, awaiter, 0, false});
        else add_gathered(child, awaiter, depth + 1);
    }
}

void TaskAwaiters::add_from_callback(uint64_t task, uint64_t callback) {
    const PythonLayout& l = objects_.layout();
    RemoteMemory& mem = objects_.memory();
    if (objects_.is_instance_or_named(callback, BuiltinType::Method, "method")) {
        const uint64_t function = mem.read_pointer(callback + static_cast<uint64_t>(l.method_func));
        if (function_name_of(objects_, function) != "_on_task_done") return;
        const uint64_t group = mem.read_pointer(callback + static_cast<uint64_t>(l.method_self));
        auto known = group_parents_.find(group);
        if (known == group_parents_.end())
            known = group_parents_.emplace(group, objects_.attribute(group, "_parent_task")).first;
        const std::optional<uint64_t> parent = known->second;
        if (parent) edges_.push_back({task, *parent, group, false});
        return;
    }
    if (function_name_of(objects_, callback) != "_inner_done_callback") return;
    for (const ClosureVariable& v : closure_variables(objects_, callback)) {
        if (v.name == "outer") edges_.push_back({task, v.value, 0, true});
    }
}

AwaiterReadings TaskAwaiters::read(std::vector<TaskLinks> tasks, const Recorded& recorded,
                                   std::vector<std::string>& problems) {
    edges_.clear();
    is_task_.clear();
    group_parents_.clear();
    is_task_.reserve(tasks.size());
    edges_.reserve(2 * tasks.size());
    for (const TaskLinks& t : tasks) is_task_.insert(t.task);
    const auto attempt = [&](uint64_t task, auto&& read) {
        recording_errors(
            problems, [task] { return "awaiters of the task at " + hex(task); }, read);
    };
    for (const TaskLinks& t : tasks) {
        if (recorded && t.records_awaiters) {
            attempt(t.task, [&] {
                for (const uint64_t awaiter : recorded(t.task)) edges_.push_back({t.task, awaiter, 0, false});
            });
        }
        if (!t.waiter) continue;
        attempt(t.task, [&] {
            if (is_task_.count(t.waiter)) edges_.push_back({t.waiter, t.task, 0, false});
            else add_gathered(t.waiter, t.task, 0);
        });
    }
    // Callbacks last: a TaskGroup edge then names its group also where it was recorded.
    for (const TaskLinks& t : tasks) {
        for (const uint64_t callback : t.callbacks) attempt(t.task, [&] { add_from_callback(t.task, callback); });
    }
    return AwaiterReadings{std::move(tasks), std::move(edges_)};
}

std::unordered_map<uint64_t, std::vector<TaskAwaiter>> TaskAwaiters::resolve(const AwaiterReadings& readings) {
    std::unordered_set<uint64_t> is_task;
    std::unordered_map<uint64_t, std::vector<uint64_t>> waiting_on;  // future -> tasks waiting on it
    std::unordered_map<uint64_t, std::vector<TaskAwaiter>> out;
    is_task.reserve(readings.tasks.size());
    waiting_on.reserve(readings.tasks.size());
    out.reserve(readings.tasks.size());
    for (const TaskLinks& t : readings.tasks) {
        is_task.insert(t.task);
        if (t.waiter) waiting_on[t.waiter].push_back(t.task);
    }
    const auto add = [&](uint64_t task, TaskAwaiter awaiter) {
        if (!is_task.count(task) || !is_task.count(awaiter.task)) return;
        std::vector<TaskAwaiter>& list = out[task];
        for (TaskAwaiter& known : list) {
            if (known.task != awaiter.task) continue;
            if (!known.group) known.group = awaiter.group;
            return;
        }
        list.push_back(awaiter);
    };
    for (const AwaiterReadings::Edge& e : readings.edges) {
        if (!e.shielded) {
            add(e.task, {e.awaiter, e.group});
        } else if (const auto waiting = waiting_on.find(e.awaiter); waiting != waiting_on.end()) {
            for (const uint64_t awaiter : waiting->second) add(e.task, {awaiter, 0});
        }
    }
    return out;
}

}  // namespace stackscope
