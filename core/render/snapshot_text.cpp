#include "render/snapshot_text.hpp"

#include "render/locks_text.hpp"
#include "render/printable.hpp"
#include "render/task_tree.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

// After the threads: each loop's header and its root tasks' trees; a line of its own when the
// task list could not be read in full.
std::string tasks_text(const Snapshot& snapshot, const std::function<std::string(const Stack&)>& stack_text, bool color,
                       TaskLayout layout) {
    std::string out;
    const std::vector<LoopTasks> loops = task_trees(snapshot, layout);
    if (loops.empty()) out += "\n" + styled_header("no event loops", color) + "\n";
    for (const LoopTasks& loop : loops) {
        out += "\n" + styled_header(loop.header, color) + "\n";
        for (size_t i = 0; i < loop.roots.size(); ++i) out += (i ? "\n" : "") + stack_text(loop.roots[i]);
    }
    if (snapshot.tasks_error)
        out += "\nError while reading the tasks: " + printable(snapshot.tasks_error->message) + "\n";
    return out;
}

std::string format_snapshot_text(const Snapshot& snapshot, const std::function<std::string(const Stack&)>& stack_text,
                                 bool color, TaskLayout tasks,
                                 const std::function<std::string(const Thread&)>& native_text) {
    std::string out = format_process_header(snapshot);
    if (snapshot.objects_asked) {
        for (size_t i = 0; i < snapshot.objects.size(); ++i) {
            if (i) out += "\n";
            out += stack_text(snapshot.objects[i].stack);
        }
        return out;
    }
    for (size_t i = 0; i < snapshot.threads.size(); ++i) {
        if (i) out += "\n";
        std::string header = format_thread_header(snapshot.threads[i]);
        if (const std::string note = running_task_note(snapshot, snapshot.threads[i]); !note.empty())
            header.insert(header.size() - 1, note);  // before the closing ':'
        out += styled_header(header, color) + "\n";
        const Thread& thread = snapshot.threads[i];
        out += thread.native && native_text ? native_text(thread) : stack_text(thread.stack);
    }
    if (snapshot.tasks_asked) out += tasks_text(snapshot, stack_text, color, tasks);
    out += locks_text(snapshot, color);
    return out;
}

}  // namespace stackscope
