#include <string>

#include "render/snapshot_text.hpp"
#include "render/stack_tree.hpp"
#include "render/task_tree.hpp"
#include "stackscope/debugger.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

std::string format_debugger_tasks_tree(const Snapshot& snapshot, const TreeOptions& options) {
    if (!snapshot.tasks_asked) return {};
    return tasks_text(
        snapshot, [&](std::string& out, const Stack& stack) { append_stack_tree(out, stack, options); }, options.color,
        TaskLayout::Nested);
}

std::string format_debugger_tasks_flat(const Snapshot& snapshot, const FlatOptions& options) {
    if (!snapshot.tasks_asked) return {};
    return tasks_text(
        snapshot, [&](std::string& out, const Stack& stack) { out += format_stack_flat(stack, options); },
        options.color, TaskLayout::Listed);
}

std::string with_running_task(std::string line, const Snapshot& snapshot, const Thread& thread) {
    const std::string note = running_task_note(snapshot, thread);
    if (!note.empty() && !line.empty() && line.back() == ':') line.insert(line.size() - 1, note);
    return line;
}

Snapshot without_tasks(Snapshot snapshot) {
    snapshot.tasks.clear();
    snapshot.tasks_asked = false;
    snapshot.tasks_error.reset();
    for (Thread& t : snapshot.threads) {
        t.running_loop.reset();
        t.running_task.reset();
    }
    return snapshot;
}

}  // namespace stackscope
