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

void TaskAwaiters::add(uint64_t task, TaskAwaiter awaiter) {
    if (!is_task_.count(task) || !is_task_.count(awaiter.task)) return;
    std::vector<TaskAwaiter>& list = out_[task];
    for (TaskAwaiter& known : list) {
        if (known.task != awaiter.task) continue;
        if (!known.group) known.group = awaiter.group;
        return;
    }
    list.push_back(awaiter);
}

// gather(): `awaiter` waits on a _GatheringFuture; its children are tasks or, for a gather of
// gathers, _GatheringFutures again.
void TaskAwaiters::add_gathered(uint64_t gathering, uint64_t awaiter, int depth) {
    if (depth > kMaxGatherNesting) throw bad_data("gather futures nest too deep at " + hex(gathering), gathering);
    const auto children = objects_.attribute(gathering, "_children");
    if (!children || objects_.match(*children, BuiltinType::List) == TypeMatch::No) return;
    for (const uint64_t child : objects_.sequence_items(*children, false, kMaxChildren)) {
        if (is_task_.count(child)) add(child, {awaiter, 0});
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
        if (parent) add(task, {*parent, group});
        return;
    }
    if (function_name_of(objects_, callback) != "_inner_done_callback") return;
    for (const ClosureVariable& v : closure_variables(objects_, callback)) {
        if (v.name != "outer") continue;
        if (const auto waiting = waiting_on_.find(v.value); waiting != waiting_on_.end()) {
            for (const uint64_t awaiter : waiting->second) add(task, {awaiter, 0});
        }
    }
}

std::unordered_map<uint64_t, std::vector<TaskAwaiter>> TaskAwaiters::find(const std::vector<TaskLinks>& tasks,
                                                                          const Recorded& recorded,
                                                                          std::vector<std::string>& problems) {
    out_.clear();
    waiting_on_.clear();
    is_task_.clear();
    group_parents_.clear();
    is_task_.reserve(tasks.size());
    waiting_on_.reserve(tasks.size());
    out_.reserve(tasks.size());
    for (const TaskLinks& t : tasks) is_task_[t.task] = true;
    for (const TaskLinks& t : tasks) {
        if (t.waiter) waiting_on_[t.waiter].push_back(t.task);
    }
    const auto attempt = [&](uint64_t task, auto&& read) {
        recording_errors(
            problems, [task] { return "awaiters of the task at " + hex(task); }, read);
    };
    for (const TaskLinks& t : tasks) {
        if (recorded && t.records_awaiters) {
            attempt(t.task, [&] {
                for (const uint64_t awaiter : recorded(t.task)) add(t.task, {awaiter, 0});
            });
        }
        if (!t.waiter) continue;
        attempt(t.task, [&] {
            if (is_task_.count(t.waiter)) add(t.waiter, {t.task, 0});
            else add_gathered(t.waiter, t.task, 0);
        });
    }
    // Callbacks last: a TaskGroup edge then names its group also where it was recorded.
    for (const TaskLinks& t : tasks) {
        for (const uint64_t callback : t.callbacks) attempt(t.task, [&] { add_from_callback(t.task, callback); });
    }
    return std::move(out_);
}

}  // namespace stackscope
