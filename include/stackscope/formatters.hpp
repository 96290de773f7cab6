#pragma once
// Renderers of the model. They read only the model, never the target.
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stackscope/eval_calls.hpp"
#include "stackscope/helper_thread.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// Text handed on in order as soon as it is final, while the rest is still being made.
using TextSink = std::function<void(std::string_view text)>;

struct TreeOptions {
    bool ascii = false;
    bool show_hidden = false;
    bool color = false;  // ANSI colours (use_color decides; never in JSON)
    // Where the second half of a long task list's text is written; a thread of its own when null.
    HelperThread* helper = nullptr;
    // Where a long task list's text goes as it is made (format_snapshot_tree_taking_task_stacks):
    // the text before it, then each run of its roots in order, from either thread but one call
    // at a time. What it is given is not in the pieces returned. Null: all is returned.
    const TextSink* sink = nullptr;
};

struct FlatOptions {
    bool show_hidden = false;
    bool color = false;
};

// One thread's header line, e.g. `Thread 4321 "worker-1" (interpreter 2) (holds the GIL):`;
// the interpreter is named only when it is not the main one.
std::string format_thread_header(const Thread& thread);
// What follows the thread's id in a header: ` "worker-1" (interpreter 2) (holds the GIL)
// (running)`, then `(idle in clock_nanosleep)` / `(waiting for the GIL)`, `(in garbage
// collection)`, `(finalizing the interpreter)`, `(handling ValueError: boom)` as they apply;
// for front-ends that name threads their own way.
std::string format_thread_details(const Thread& thread);
// The JSON name of a thread's activity: "running", "idle", "waiting_for_gil"; nullopt when unknown.
std::optional<std::string> activity_name(ThreadActivity activity);
// `text` as the tree shows what the target gave: control characters escaped, so that it can
// neither fake lines nor drive a terminal (for messages that quote the target, e.g. on stderr).
std::string printable_text(std::string_view text);
// `SIGSEGV at 0x0`: a fatal signal in a few words.
std::string format_signal(const FatalSignal& signal);
// For a core: `Process 1234: python3 app.py` and, after a crash, `Killed by SIGSEGV at 0x0
// (address not mapped) in thread 1240`, then a blank line; "" when the target told nothing.
std::string format_process_header(const Snapshot& snapshot);
// upstream stackscope's Stack format: `stackscope.Stack (most recent call last):` and frame lines.
std::string format_stack_tree(const Stack& stack, const TreeOptions& options);
// Every thread: header, stack, blank line between threads.
std::string format_snapshot_tree(const Snapshot& snapshot, const TreeOptions& options);
// A text in pieces, to be written one after the other: the text of ten thousand tasks is
// megabytes, written in runs by two threads, and joining the runs into one string would copy
// it all into fresh memory on the way out.
using TextPieces = std::vector<std::string>;
std::string joined(const TextPieces& pieces);
// The same text, for a caller done with the tasks' stacks (the CLI, printing once): their
// frames and leaves are moved into the task trees instead of copied. Each task keeps its
// root, name, awaiters and error (what Snapshot::partial() asks).
TextPieces format_snapshot_tree_taking_task_stacks(Snapshot& snapshot, const TreeOptions& options);

// A Python-traceback-like listing: `File "f", line N, in function` and the source line.
std::string format_stack_flat(const Stack& stack, const FlatOptions& options);
std::string format_snapshot_flat(const Snapshot& snapshot, const FlatOptions& options);

// A header line the front-ends make themselves (gdb's and lldb's thread headers), in the
// colour the renderers give theirs when `color`.
std::string styled_header(std::string_view line, bool color);

// A debugger's native frame: its line as the debugger shows it (without `[native]`), and
// where it sits on the stack, for placing the Python frames.
struct NativeLine {
    std::string text;
    NativeFrame frame;  // its symbol must outlive the call
    // Shown only through the Python frames placed among the natives (the interpreter's own
    // frames under --native); shown as any other where they cannot be placed.
    bool replaced = false;
};

struct NativeTreeOptions {
    TreeOptions tree;
    std::string debugger;  // "gdb", "lldb": named when the Python frames cannot be placed
    std::optional<std::string> native_error = std::nullopt;  // why the native frames are missing or end early
};

// The stack as a tree with the debugger's native frames (`natives`, newest first)
// interleaved, outermost first: each eval-loop call's Python frames follow the native frame
// that runs it (place_eval_calls). Where they cannot be placed, a note and the Python frames
// come first.
std::string format_stack_with_natives(const Stack& stack, std::span<const NativeLine> natives,
                                      const NativeTreeOptions& options);

// A native frame's line: `poll in libc.so.6`, `wait_here (inlined) at ext.c:12 in ext.so`,
// `0x7f0012345678`.
std::string native_frame_text(const NativeStackFrame& frame);

// The snapshot's threads with their native frames (those read with SnapshotOptions::native),
// as --native (`all` false: the interpreter's own frames collapsed) or --native-all show them.
std::string format_snapshot_tree_with_natives(const Snapshot& snapshot, const TreeOptions& options, bool all);

// JSON following docs/schema-v1.json. Threads read with native frames list them among their
// Python frames (`kind` tells them apart), as format_snapshot_tree_with_natives places them.
std::string format_snapshot_json(const Snapshot& snapshot, int indent = 2, bool all_natives = false);

// The snapshot without its frames' with-blocks (--no-contexts for a snapshot read with them).
Snapshot without_contexts(Snapshot snapshot);
// "arg", "local", "cell", "free": how JSON (and the debuggers' Python API) name a variable's kind.
std::string local_kind_name(LocalKind kind);

// The snapshot without its frames' variables (a debugger's snapshot read with --locals, shown
// without): every frame's locals as when they were not read.
Snapshot without_locals(Snapshot snapshot);

}  // namespace stackscope
