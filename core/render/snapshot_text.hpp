#pragma once
// What the tree and flat renderers share: the snapshot's text around each thread's stack.
#include <functional>
#include <string>

#include "stackscope/model.hpp"

namespace stackscope {

// The process header, then each thread's header line (in colour when `color`) and
// `stack_text` of its stack, with a blank line between threads.
std::string format_snapshot_text(const Snapshot& snapshot, const std::function<std::string(const Stack&)>& stack_text,
                                 bool color);

}  // namespace stackscope
