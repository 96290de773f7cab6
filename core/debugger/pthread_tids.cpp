#include <algorithm>

#include "stackscope/debugger.hpp"
#include "target/glibc_threads.hpp"
#include "target/remote_memory.hpp"

namespace stackscope {

void fill_tids_from_pthreads(Snapshot& snapshot, Target& target, const std::set<int>& live_tids) {
    const bool needed = std::any_of(snapshot.threads.begin(), snapshot.threads.end(),
                                    [](const Thread& t) { return !t.tid && t.pthread_id; });
    if (!needed) return;
    RemoteMemory memory(target);
    const auto tid_offset = glibc_pthread_tid_offset(memory);
    if (!tid_offset) return;
    for (Thread& t : snapshot.threads) {
        if (t.tid || !t.pthread_id) continue;
        const auto tid = glibc_thread_tid(memory, *t.pthread_id, *tid_offset);
        if (tid && live_tids.count(*tid)) t.tid = *tid;
    }
}

}  // namespace stackscope
