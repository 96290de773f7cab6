#include <algorithm>
#include <functional>
#include <string>

#include "render/task_tree.hpp"
#include "stackscope/debugger.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

namespace {

// The lines of `format(snapshot)` below those of its threads. The CLI prints the tasks after
// the threads; a thread's text has as many lines with or without tasks (only its header's
// details may name its running task), so the threads' lines are those of the text of the
// snapshot without tasks.
std::string below_threads(const Snapshot& snapshot, const std::function<std::string(const Snapshot&)>& format) {
    if (!snapshot.tasks_asked) return {};
    const std::string whole = format(snapshot);
    const std::string threads = format(without_tasks(snapshot));
    const size_t lines = static_cast<size_t>(std::count(threads.begin(), threads.end(), '\n'));
    size_t start = 0;
    for (size_t line = 0; line < lines && start < whole.size(); ++line) {
        const size_t end = whole.find('\n', start);
        start = end == std::string::npos ? whole.size() : end + 1;
    }
    return whole.substr(start);
}

}  // namespace

std::string format_debugger_tasks_tree(const Snapshot& snapshot, const TreeOptions& options) {
    return below_threads(snapshot, [&](const Snapshot& s) { return format_snapshot_tree(s, options); });
}

std::string format_debugger_tasks_flat(const Snapshot& snapshot, const FlatOptions& options) {
    return below_threads(snapshot, [&](const Snapshot& s) { return format_snapshot_flat(s, options); });
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
