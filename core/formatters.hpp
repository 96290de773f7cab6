#pragma once
// Renderers of the model. They read only the model, never the target.
#include <string>

#include "model.hpp"

namespace stackscope {

struct TreeOptions {
    bool ascii = false;
    bool show_hidden = false;
};

// One thread's header line, e.g. `Thread 4321 "worker-1" (interpreter 2) (holds the GIL):`;
// the interpreter is named only when it is not the main one.
std::string format_thread_header(const Thread& thread);
// What follows the thread's id in a header: ` "worker-1" (interpreter 2) (holds the GIL)`,
// for front-ends that name threads their own way.
std::string format_thread_details(const Thread& thread);
// upstream stackscope's Stack format: `stackscope.Stack (most recent call last):` and frame lines.
std::string format_stack_tree(const Stack& stack, const TreeOptions& options);
// Every thread: header, stack, blank line between threads.
std::string format_snapshot_tree(const Snapshot& snapshot, const TreeOptions& options);

// A Python-traceback-like listing: `File "f", line N, in function` and the source line.
std::string format_stack_flat(const Stack& stack, bool show_hidden);
std::string format_snapshot_flat(const Snapshot& snapshot, bool show_hidden);

// JSON following docs/schema-v1.json.
std::string format_snapshot_json(const Snapshot& snapshot, int indent = 2);

}  // namespace stackscope
