#include "render/snapshot_text.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "common/two_thread_runs.hpp"
#include "render/locks_text.hpp"
#include "render/printable.hpp"
#include "render/task_tree.hpp"
#include "stackscope/formatters.hpp"

namespace stackscope {

// After the threads: each loop's header and its root tasks' trees; a line of its own when the
// task list could not be read in full.
namespace {

// Roots below this many are written by one thread.
constexpr size_t kRootsForTwoThreads = 256;
// Roots a thread writes at a time when there are two.
constexpr size_t kRootsPerRun = 32;

// The roots [begin, end) of one loop, each after a blank line but the loop's first; each root
// is freed once written (freeing a long list costs as much as copying it).
void append_roots_text(std::string& out, std::vector<Stack>& roots, size_t begin, size_t end,
                       const StackText& stack_text) {
    for (size_t i = begin; i < end; ++i) {
        if (i) out += '\n';
        stack_text(out, roots[i]);
        roots[i] = Stack{};
    }
}

// The runs' texts handed to a sink in order as they are done: the thread that finishes a run
// hands on every run done from the next one on, unless the other thread is handing on already
// (then that one goes on to it). Either thread may wait in the sink (a full pipe) while the
// other goes on writing runs.
class RunsInOrder {
public:
    RunsInOrder(std::vector<std::string>& texts, const TextSink& sink)
        : texts_(texts), sink_(sink), done_(texts.size(), false) {}

    void finished(size_t run) {
        std::unique_lock lock(mutex_);
        done_[run] = true;
        if (handing_on_) return;
        handing_on_ = true;
        while (next_ < texts_.size() && done_[next_]) {
            std::string text = std::move(texts_[next_++]);
            lock.unlock();
            sink_(text);
            text = std::string();  // freed outside the lock
            lock.lock();
        }
        handing_on_ = false;
    }

private:
    std::vector<std::string>& texts_;
    const TextSink& sink_;
    std::mutex mutex_;
    std::vector<bool> done_;
    size_t next_ = 0;  // the first run not handed on
    bool handing_on_ = false;
};

// A long list on two threads (in_runs_on_two_threads): the text of 10,000 tasks is most of
// what --tasks does once the target runs again. Each run's text becomes a piece, in order; or,
// with a sink, goes there as soon as it and the runs before it are done, after the pieces
// before it, so that it is on its way while the rest is written.
void append_roots_on_two_threads(TextPieces& out, std::vector<Stack>& roots, const StackText& stack_text,
                                 HelperThread* helper, const TextSink* sink) {
    std::vector<std::string> texts((roots.size() + kRootsPerRun - 1) / kRootsPerRun);
    std::optional<RunsInOrder> in_order;
    if (sink) {
        for (const std::string& piece : out) (*sink)(piece);
        out.clear();
        in_order.emplace(texts, *sink);
    }
    // Each run's text starts with room for a little more than the last one written needed.
    std::atomic<size_t> last_size{0};
    const auto write_run = [&](size_t run) {
        const size_t begin = run * kRootsPerRun;
        texts[run].reserve(last_size.load(std::memory_order_relaxed) * 9 / 8);
        append_roots_text(texts[run], roots, begin, std::min(begin + kRootsPerRun, roots.size()), stack_text);
        last_size.store(texts[run].size(), std::memory_order_relaxed);
        if (in_order) in_order->finished(run);
    };
    // Joined once the texts are taken: by then it has exited.
    std::jthread other = in_runs_on_two_threads(texts.size(), write_run, write_run, helper);
    // Every run was handed on by the time the last one finished (the sink) or is here.
    if (!in_order)
        for (std::string& text : texts) out.push_back(std::move(text));
    out.emplace_back();  // what follows
}

// The tasks' part of the text, appended to `out`: the text of 10,000 tasks is megabytes, and
// each copy of it costs as much as writing a tenth of it.
void append_tasks_text(TextPieces& out, const Snapshot& snapshot, const StackText& stack_text, bool color,
                       TaskLayout layout, std::vector<Task>* stacks_to_take, HelperThread* helper = nullptr,
                       const TextSink* sink = nullptr) {
    std::vector<LoopTasks> loops = task_trees(snapshot, layout, stacks_to_take);
    if (loops.empty()) out.back() += "\n" + styled_header("no event loops", color) + "\n";
    for (LoopTasks& loop : loops) {
        out.back() += "\n" + styled_header(loop.header, color) + "\n";
        std::vector<Stack>& roots = loop.roots;
        if (roots.size() < kRootsForTwoThreads) {
            append_roots_text(out.back(), roots, 0, roots.size(), stack_text);
        } else {
            append_roots_on_two_threads(out, roots, stack_text, helper, sink);
        }
    }
    if (snapshot.tasks_error)
        out.back() += "\nError while reading the tasks: " + printable(snapshot.tasks_error->message) + "\n";
}

}  // namespace

std::string joined(const TextPieces& pieces) {
    size_t size = 0;
    for (const std::string& piece : pieces) size += piece.size();
    std::string out;
    out.reserve(size);
    for (const std::string& piece : pieces) out += piece;
    return out;
}

std::string tasks_text(const Snapshot& snapshot, const StackText& stack_text, bool color, TaskLayout layout,
                       std::vector<Task>* stacks_to_take) {
    TextPieces out(1);
    append_tasks_text(out, snapshot, stack_text, color, layout, stacks_to_take);
    return joined(out);
}

std::string format_snapshot_text(const Snapshot& snapshot, const StackText& stack_text, bool color, TaskLayout tasks,
                                 const std::function<std::string(const Thread&)>& native_text,
                                 std::vector<Task>* task_stacks_to_take) {
    return joined(format_snapshot_text_pieces(snapshot, stack_text, color, tasks, native_text, task_stacks_to_take));
}

TextPieces format_snapshot_text_pieces(const Snapshot& snapshot, const StackText& stack_text, bool color,
                                       TaskLayout tasks, const std::function<std::string(const Thread&)>& native_text,
                                       std::vector<Task>* task_stacks_to_take, HelperThread* helper,
                                       const TextSink* sink) {
    TextPieces pieces{format_process_header(snapshot)};
    std::string& out = pieces.back();  // only until the tasks add pieces
    if (snapshot.objects_asked) {
        for (size_t i = 0; i < snapshot.objects.size(); ++i) {
            if (i) out += "\n";
            stack_text(out, snapshot.objects[i].stack);
        }
        return pieces;
    }
    for (size_t i = 0; i < snapshot.threads.size(); ++i) {
        if (i) out += "\n";
        std::string header = format_thread_header(snapshot.threads[i]);
        if (const std::string note = running_task_note(snapshot, snapshot.threads[i]); !note.empty())
            header.insert(header.size() - 1, note);  // before the closing ':'
        out += styled_header(header, color) + "\n";
        const Thread& thread = snapshot.threads[i];
        if (thread.native && native_text) out += native_text(thread);
        else stack_text(out, thread.stack);
    }
    if (snapshot.tasks_asked)
        append_tasks_text(pieces, snapshot, stack_text, color, tasks, task_stacks_to_take, helper, sink);
    pieces.back() += locks_text(snapshot, color);
    return pieces;
}

}  // namespace stackscope
