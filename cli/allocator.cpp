#include "allocator.hpp"

#ifdef STACKSCOPE_MIMALLOC
#include <mimalloc.h>
#include <sys/mman.h>
#endif

namespace stackscope::cli {

void tune_allocator() {
#ifdef STACKSCOPE_MIMALLOC
    // Reading ten thousand asyncio tasks fills tens of megabytes of fresh memory. In 2 MiB
    // transparent huge pages the kernel faults and clears it about four times faster than in
    // 4 KiB ones, so mimalloc is given an area that asks for them (address space only: nothing
    // is touched until used, and mimalloc goes to the system as usual once it is full).
    // mimalloc's own large-page option is read before main() runs.
    constexpr size_t kAreaBytes = size_t{1} << 30;
    mi_arena_id_t arena = 0;
    if (mi_reserve_os_memory_ex(kAreaBytes, /*commit=*/true, /*allow_large=*/false, /*exclusive=*/false, &arena) != 0)
        return;
    size_t size = 0;
    if (void* start = mi_arena_area(arena, &size)) madvise(start, size, MADV_HUGEPAGE);
#endif
}

}  // namespace stackscope::cli
