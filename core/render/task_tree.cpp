#include "render/task_tree.hpp"

#include <algorithm>
#include <unordered_set>

#include "common/id_index.hpp"

#include "render/context_text.hpp"
#include "render/printable.hpp"
#include "stackscope/hex.hpp"

namespace stackscope {

namespace {

class TreeBuilder {
public:
    TreeBuilder(const Snapshot& snapshot, std::vector<Task>* stacks_to_take)
        : tasks_(snapshot.tasks),
          take_(stacks_to_take),
          position_(snapshot.tasks.size()),
          full_awaiter_(snapshot.tasks.size(), 0),
          composed_(snapshot.tasks.size(), false),
          awaited_offsets_(snapshot.tasks.size() + 1, 0) {
        const size_t n = tasks_.size();
        for (size_t i = 0; i < n; ++i) {
            if (tasks_[i].id != 0) position_.insert(tasks_[i].id, static_cast<uint32_t>(i));
            else if (zero_ == IdIndex::kAbsent) zero_ = static_cast<uint32_t>(i);
        }
        // Once per task: a task awaited by thousands is met under each of them.
        const auto listed = [&](uint64_t id) { return place(id) != IdIndex::kAbsent; };
        for (size_t i = 0; i < n; ++i) full_awaiter_[i] = stackscope::full_awaiter(tasks_[i], listed);
        // What each task awaits, in the tasks' order: counted, then placed.
        for (const Task& t : tasks_) {
            for (const TaskAwaiter& a : t.awaited_by) {
                if (const uint32_t awaiter = place(a.task); awaiter != IdIndex::kAbsent)
                    ++awaited_offsets_[awaiter + 1];
            }
        }
        for (size_t i = 0; i < n; ++i) awaited_offsets_[i + 1] += awaited_offsets_[i];
        awaited_.resize(awaited_offsets_[n]);
        std::vector<uint32_t> next(awaited_offsets_.begin(), awaited_offsets_.end() - 1);
        for (const Task& t : tasks_) {
            for (const TaskAwaiter& a : t.awaited_by) {
                if (const uint32_t awaiter = place(a.task); awaiter != IdIndex::kAbsent)
                    awaited_[next[awaiter]++] = Edge{&t, a.group};
            }
        }
    }

    // The awaiter `task` is shown in full under (model.hpp); 0 for a root.
    uint64_t full_awaiter(const Task& task) const {
        const uint32_t at = place(task.id);
        return at == IdIndex::kAbsent ? 0 : full_awaiter_[at];
    }

    // Where to start drawing `task`, which no root led to: the first of its chain of full
    // awaiters (on its loop) that is not drawn yet, or the first task met twice on that chain
    // (a cycle), so that each task is drawn after, and under, its full awaiter.
    const Task& first_undrawn_awaiter(const Task& task) const {
        std::unordered_set<uint64_t> met{task.id};
        const Task* at = &task;
        for (;;) {
            const uint64_t up = full_awaiter(*at);
            if (up == 0 || composed(up)) return *at;
            const Task& awaiter = listed(up);
            if (awaiter.loop != task.loop) return *at;
            if (!met.insert(up).second) return awaiter;
            at = &awaiter;
        }
    }

    bool composed(uint64_t task) const {
        const uint32_t at = place(task);
        return at != IdIndex::kAbsent && composed_[at];
    }

    // ` (awaited by 'a', 'b')`, "" for a root.
    std::string awaiters_note(const Task& task) const {
        std::string names;
        for (const TaskAwaiter& a : task.awaited_by) {
            if (place(a.task) != IdIndex::kAbsent) names += (names.empty() ? "'" : ", '") + listed(a.task).name + "'";
        }
        return names.empty() ? "" : " (awaited by " + names + ")";
    }

    Stack compose(const Task& task, std::vector<uint64_t>& path) {
        const uint32_t at = place(task.id);
        const bool first = at != IdIndex::kAbsent && !composed_[at];
        if (first) composed_[at] = true;
        Stack stack = first ? stack_of(task) : task.stack;
        path.push_back(task.id);
        if (at != IdIndex::kAbsent) {
            std::vector<const Edge*> unplaced;
            for (uint32_t e = awaited_offsets_[at]; e < awaited_offsets_[at + 1]; ++e) {
                const Edge& edge = awaited_[e];
                Context* group = edge.group ? group_context(stack, edge.group) : nullptr;
                if (group) group->children.emplace_back(Boxed<Stack>(child(*edge.task, task, path)));
                else unplaced.push_back(&edge);
            }
            if (!unplaced.empty()) await_context(stack, unplaced, task, path);
        }
        path.pop_back();
        return stack;
    }

private:
    struct Edge {
        const Task* task = nullptr;  // the awaited task
        uint64_t group = 0;
    };

    // The (first) place of the task listed under `id`; kAbsent when none is. The id index has
    // no room for 0, which no object has; a snapshot made by hand may still use it.
    uint32_t place(uint64_t id) const { return id == 0 ? zero_ : position_.find(id); }
    // The task listed (first) under `id`, which must be listed.
    const Task& listed(uint64_t id) const { return tasks_[place(id)]; }

    // The task's stack for its tree: a copy, or (a task composed once, whose stacks the caller
    // gives up) its frames and leaf taken, its root and error copied: references to the task
    // and the caller's exit status need them.
    Stack stack_of(const Task& task) {
        if (!take_) return task.stack;
        Stack& source = (*take_)[static_cast<size_t>(&task - take_->data())].stack;
        Stack out;
        out.root = source.root;
        out.error = source.error;
        out.frames = std::move(source.frames);
        out.leaf = std::move(source.leaf);
        return out;
    }

    Stack child(const Task& awaited, const Task& awaiter, std::vector<uint64_t>& path) {
        if (std::find(path.begin(), path.end(), awaited.id) != path.end())
            return reference(awaited, " (awaits itself through the tasks above: a cycle)");
        if (const uint64_t full = full_awaiter(awaited); full != awaiter.id) {
            // None: its first listing (an id listed twice, by hand) awaits nothing, and is a root.
            if (place(full) == IdIndex::kAbsent || full == 0)
                return reference(awaited, composed(awaited.id) ? " (shown above)" : " (shown as a root)");
            return reference(awaited, " (shown under '" + listed(full).name + "')");
        }
        // Drawn already: a root of its own loop, which came first.
        if (composed(awaited.id)) return reference(awaited, " (shown above)");
        // The text draws no deeper (format_tree.cpp): deeper tasks are roots of their own.
        if (path.size() >= static_cast<size_t>(kMaxContextNesting))
            return reference(awaited, " (nested too deep: shown as a root below)");
        return compose(awaited, path);
    }

    static Stack reference(const Task& task, const std::string& note) {
        Stack s;
        s.root = task.stack.root;
        s.root.description += note;
        return s;
    }

    // The innermost context of the task's frames that is the TaskGroup `group`.
    static Context* group_context(Stack& stack, uint64_t group) {
        for (auto f = stack.frames.rbegin(); f != stack.frames.rend(); ++f) {
            for (auto c = f->contexts.rbegin(); c != f->contexts.rend(); ++c) {
                if (c->address == group) return &*c;
            }
        }
        return nullptr;
    }

    // A context standing for the awaiting line of the innermost frame: `# awaits N tasks`.
    void await_context(Stack& stack, const std::vector<const Edge*>& edges, const Task& awaiter,
                       std::vector<uint64_t>& path) {
        Context c;
        c.varname = "awaits " + std::to_string(edges.size()) + (edges.size() == 1 ? " task" : " tasks");
        for (const Edge* edge : edges) c.children.emplace_back(Boxed<Stack>(child(*edge->task, awaiter, path)));
        if (stack.frames.empty()) {
            // Nothing to hang it on (a task whose frames could not be read): a frame-less root.
            Frame holder;
            holder.function = "<task>";
            holder.filename = "?";
            holder.contexts.push_back(std::move(c));
            stack.frames.push_back(std::move(holder));
            return;
        }
        Frame& innermost = stack.frames.back();
        c.source = innermost.source;
        if (!c.source && innermost.line) c.description = "await at line " + std::to_string(*innermost.line);
        innermost.contexts.push_back(std::move(c));
    }

    const std::vector<Task>& tasks_;
    std::vector<Task>* take_;             // the snapshot's tasks, when their stacks may be taken
    IdIndex position_;                    // a task's id -> its (first) place in tasks_
    uint32_t zero_ = IdIndex::kAbsent;    // the (first) place of a task whose id is 0
    std::vector<uint64_t> full_awaiter_;  // by place
    std::vector<bool> composed_;          // by place: shown in full so far
    // By the awaiter's place: the tasks it awaits are awaited_[awaited_offsets_[i] .. [i + 1]).
    std::vector<uint32_t> awaited_offsets_;
    std::vector<Edge> awaited_;
};

std::string loop_header(const Snapshot& snapshot, uint64_t loop, const std::optional<int>& tid, size_t count) {
    std::string out = "Event loop " + hex(loop);
    if (tid) {
        out += " on thread " + std::to_string(*tid);
        for (const Thread& t : snapshot.threads) {
            if (t.tid == tid && t.name) out += " \"" + printable(*t.name) + "\"";
        }
    } else {
        out += " (not running)";
    }
    return out + ": " + std::to_string(count) + (count == 1 ? " task" : " tasks");
}

}  // namespace

std::vector<LoopTasks> task_trees(const Snapshot& snapshot, TaskLayout layout, std::vector<Task>* stacks_to_take) {
    // Loops: those the threads run, then those of the tasks, in the tasks' order.
    std::vector<std::pair<uint64_t, std::optional<int>>> loops;
    const auto add_loop = [&](uint64_t loop, std::optional<int> tid) {
        for (const auto& known : loops) {
            if (known.first == loop) return;
        }
        loops.emplace_back(loop, tid);
    };
    for (const Task& t : snapshot.tasks) add_loop(t.loop, t.loop_thread);
    for (const Thread& t : snapshot.threads) {
        if (t.running_loop) add_loop(*t.running_loop, t.tid);
    }
    TreeBuilder builder(snapshot, stacks_to_take == &snapshot.tasks ? stacks_to_take : nullptr);
    std::vector<LoopTasks> out;
    for (const auto& [loop, tid] : loops) {
        LoopTasks group;
        size_t count = 0;
        if (layout == TaskLayout::Listed) {
            for (const Task& t : snapshot.tasks) {
                if (t.loop != loop) continue;
                ++count;
                group.roots.push_back(t.stack);
                group.roots.back().root.description += builder.awaiters_note(t);
            }
            group.header = loop_header(snapshot, loop, tid, count);
            out.push_back(std::move(group));
            continue;
        }
        for (const Task& t : snapshot.tasks) {
            if (t.loop != loop) continue;
            ++count;
            if (builder.full_awaiter(t) != 0) continue;  // shown under its awaiter
            std::vector<uint64_t> path;
            group.roots.push_back(builder.compose(t, path));
        }
        // What no root led to: cycles of awaits (each from its first task met) and what they
        // await, and tasks nested too deep to be drawn under their awaiter.
        for (const Task& t : snapshot.tasks) {
            if (t.loop != loop || builder.composed(t.id)) continue;
            const Task& first = builder.first_undrawn_awaiter(t);
            std::vector<uint64_t> path;
            Stack stack = builder.compose(first, path);
            stack.root.description += first.cycle ? " (on a cycle of awaits)" : builder.awaiters_note(first);
            group.roots.push_back(std::move(stack));
        }
        group.header = loop_header(snapshot, loop, tid, count);
        out.push_back(std::move(group));
    }
    return out;
}

std::string running_task_note(const Snapshot& snapshot, const Thread& thread) {
    if (!thread.running_task) return "";
    for (const Task& t : snapshot.tasks) {
        if (t.id == *thread.running_task) return " (running task '" + printable(t.name) + "')";
    }
    return " (running task at " + hex(*thread.running_task) + ")";
}

}  // namespace stackscope
