#pragma once
// --locks as text, after the threads (tree and flat alike): the deadlocks, then each lock with
// its holders and waiters, then the threads blocked on a lock no rule identifies.
#include <string>

#include "stackscope/model.hpp"

namespace stackscope {

// "" when the snapshot was read without --locks.
std::string locks_text(const Snapshot& snapshot, bool color);

}  // namespace stackscope
