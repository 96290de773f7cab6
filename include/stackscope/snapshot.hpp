#pragma once
// The entry point of the core: one consistent extraction of every Python thread.
#include <functional>

#include "stackscope/helper_thread.hpp"
#include "stackscope/model.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

class SourceFiles;

struct ExtractionStats {
    uint64_t target_reads = 0;     // read calls sent to the target (after the page cache)
    uint64_t requested_reads = 0;  // read calls asked of the page cache
    uint64_t stack_rereads = 0;    // stacks read again because they changed while being read
    int task_readers = 0;          // threads that read the tasks' stacks (--tasks), 0 without tasks
};

struct SnapshotOptions {
    // The target keeps running while it is read: each thread's frame chain is read again
    // after its walk (with the page cache emptied), and a walk that failed or whose chain
    // changed is retried, up to `attempts` walks, before the thread reports the change.
    bool target_running = false;
    int attempts = 5;
    // Objects to read by address (--object): the snapshot then shows them instead of threads.
    std::vector<uint64_t> objects;
    // Read each frame's active with-blocks (Frame::contexts).
    bool contexts = true;
    // Read each frame's arguments and locals (Frame::locals, --locals).
    bool locals = false;
    // Read every asyncio task and who awaits whom (Snapshot::tasks, --tasks), after the threads.
    bool tasks = false;
    // Read who holds and who waits for each lock, and the deadlocks (Snapshot::locks, --locks).
    bool locks = false;
    // Unwind each thread's native frames (Thread::native, --native), and list the threads that
    // have no Python thread state with theirs. Needs the threads' registers: a stopped target.
    bool native = false;
    // Name the interpreter's own native frames in full (file, line, inlined functions), as
    // --native-all shows them; else from the symbol table alone, which is all --native needs to
    // collapse them.
    bool native_interpreter_in_full = true;
    // Where a long task list's second reader runs; a thread of its own when null.
    HelperThread* helper = nullptr;
    // Where each frame's source line is read from (Frame::source, see source_files.hpp), once
    // `reads_done` has been called: on `helper` while the tasks are ordered, where there is one.
    // None when null: the caller may add them itself.
    SourceFiles* sources = nullptr;
};

// Throws Error(UnsupportedRuntime) when the target has no supported Python runtime; per-thread
// problems are recorded in the threads instead. Source lines are read only with
// SnapshotOptions::sources, and only after `reads_done`: for a live target, once it is resumed.
// `reads_done` is called once the target's memory is no longer needed, before the work that only
// arranges what was read (ordering the tasks): a live target can be resumed there.
Snapshot take_snapshot(Target& target, ExtractionStats* stats = nullptr, const SnapshotOptions& options = {},
                       const std::function<void()>& reads_done = {});

}  // namespace stackscope
