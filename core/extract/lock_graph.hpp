#pragma once
// --locks: who holds which lock and who waits for it, from the threads already read (their
// frames' with-blocks, the kernel's view of their futex waits), and the deadlocks: the cycles
// of the wait-for graph.
#include <unordered_map>
#include <vector>

#include "extract/extraction.hpp"
#include "stackscope/model.hpp"
#include "stackscope/target.hpp"

namespace stackscope {

// Fills snap.locks, deadlocks and unidentified_waits from snap.threads (read with their
// contexts). `kernel` is what the target says of each thread, by tid. Never throws (but
// Error(Internal)): what cannot be read is left out.
void read_locks(Extraction& x, Snapshot& snap, const std::unordered_map<int, TargetThread>& kernel);

}  // namespace stackscope
