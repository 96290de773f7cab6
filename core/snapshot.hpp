#pragma once
// The entry point of the core: one consistent extraction of every Python thread.
#include "model.hpp"
#include "target.hpp"

namespace stackscope {

struct ExtractionStats {
    uint64_t target_reads = 0;  // read calls sent to the target (after the page cache)
};

// Throws Error(NotPython) when the target has no supported Python runtime; per-thread
// problems are recorded in the threads instead. Source lines are not read here (see
// source_files.hpp): for a live target that is done after it has been resumed.
Snapshot take_snapshot(Target& target, ExtractionStats* stats = nullptr);

// For a front-end that learned some threads' kernel ids after the snapshot (from glibc's
// thread descriptors): says what those threads are doing, as take_snapshot does.
void add_late_kernel_activity(Snapshot& snapshot, Target& target);

}  // namespace stackscope
