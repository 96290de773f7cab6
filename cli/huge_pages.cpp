#include "huge_pages.hpp"

#ifdef STACKSCOPE_MIMALLOC
#include <mimalloc.h>
#include <sys/mman.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

// The anonymous private mapping that holds `address`, made huge-page friendly: mimalloc's
// first region, reserved before main() could set its options.
void advise_mapping_holding(uintptr_t address) {
    std::unique_ptr<FILE, int (*)(FILE*)> maps(std::fopen("/proc/self/maps", "re"), &std::fclose);
    if (!maps) return;
    char line[512];
    while (std::fgets(line, sizeof line, maps.get())) {
        uintptr_t start = 0, end = 0;
        char perms[8] = {};
        unsigned long long inode = 1;
        int name_at = 0;
        if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*x %*s %llu %n", &start, &end, perms, &inode, &name_at) <
            4)
            continue;
        if (address < start || address >= end) continue;
        const bool anonymous = inode == 0 && (line[name_at] == '\n' || line[name_at] == '\0');
        const bool private_writable = perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p';
        if (anonymous && private_writable && end - start >= (uintptr_t{2} << 20))
            (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
        return;
    }
}

}  // namespace

void use_huge_pages_for_heap() {
    // mimalloc reads these at its start: a user who set them keeps their choice.
    if (std::getenv("MIMALLOC_LARGE_OS_PAGES") || std::getenv("MIMALLOC_EAGER_COMMIT_DELAY")) return;
    // Regions reserved from now on, each thread's first one included, ask for huge pages.
    mi_option_enable(mi_option_large_os_pages);
    mi_option_set(mi_option_eager_commit_delay, 0);
    // The main thread's first region is already reserved, its pages touched one by one.
    const std::unique_ptr<char[]> probe(new char[64]);
    advise_mapping_holding(reinterpret_cast<uintptr_t>(probe.get()));
}

OrdinaryPagesMeanwhile::OrdinaryPagesMeanwhile() {
    if (std::getenv("MIMALLOC_LARGE_OS_PAGES") || !mi_option_is_enabled(mi_option_large_os_pages)) return;
    mi_option_disable(mi_option_large_os_pages);
    paused_ = true;
}

OrdinaryPagesMeanwhile::~OrdinaryPagesMeanwhile() {
    if (paused_) mi_option_enable(mi_option_large_os_pages);
}

#else

void use_huge_pages_for_heap() {}
OrdinaryPagesMeanwhile::OrdinaryPagesMeanwhile() = default;
OrdinaryPagesMeanwhile::~OrdinaryPagesMeanwhile() = default;

#endif
