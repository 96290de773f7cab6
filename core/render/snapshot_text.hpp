#pragma once
// What the tree and flat renderers share: the snapshot's text around each thread's stack.
#include <functional>
#include <string>
#include <vector>

#include "render/task_tree.hpp"
#include "stackscope/formatters.hpp"
#include "stackscope/model.hpp"

namespace stackscope {

// Appends a stack's text to `out`: each root of ten thousand tasks is written straight into the
// text of its run, not into a string of its own first.
using StackText = std::function<void(std::string& out, const Stack& stack)>;

// The process header, then each thread's header line (in colour when `color`) and
// `stack_text` of its stack, with a blank line between threads.
// Each loop's header and its tasks, as format_snapshot_text prints them after the threads
// (also alone, under a debugger's own thread headers); "no event loops" when there are none.
// A long task list is written by two threads: `stack_text` must be callable from both.
// `stacks_to_take`: as for task_trees.
std::string tasks_text(const Snapshot& snapshot, const StackText& stack_text, bool color, TaskLayout layout,
                       std::vector<Task>* stacks_to_take = nullptr);

// With --tasks, each loop's tasks after the threads, laid out as `tasks` says. A thread read
// with native frames is shown by `native_text`, when given.
std::string format_snapshot_text(const Snapshot& snapshot, const StackText& stack_text, bool color,
                                 TaskLayout tasks = TaskLayout::Nested,
                                 const std::function<std::string(const Thread&)>& native_text = {},
                                 std::vector<Task>* task_stacks_to_take = nullptr);

// The same text in pieces (formatters.hpp): a long task list's runs stay the strings they
// were written into, half of them on `helper` when given; with `sink` (TreeOptions::sink), they
// and what comes before them go there instead, as they are made.
TextPieces format_snapshot_text_pieces(const Snapshot& snapshot, const StackText& stack_text, bool color,
                                       TaskLayout tasks = TaskLayout::Nested,
                                       const std::function<std::string(const Thread&)>& native_text = {},
                                       std::vector<Task>* task_stacks_to_take = nullptr, HelperThread* helper = nullptr,
                                       const TextSink* sink = nullptr);

}  // namespace stackscope
