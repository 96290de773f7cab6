#pragma once

// Asks for the CLI's heap to be backed by transparent huge pages (2 MiB) where the allocator and
// the kernel allow it. Reading ten thousand asyncio tasks touches about 40 MB: in 4 KiB pages
// that is over 8,000 page faults, a tenth of the command's time, and as many pages to free at
// exit. Does nothing without mimalloc, or where the user set mimalloc's own options.
void use_huge_pages_for_heap();

// While one lives, the regions mimalloc reserves are not asked for huge pages: for a thread that
// allocates little (the one LiveProcess attaches from), whose first region would otherwise be a
// 2 MiB page cleared, 0.65 ms before the target's first thread could be stopped.
class OrdinaryPagesMeanwhile {
public:
    OrdinaryPagesMeanwhile();
    ~OrdinaryPagesMeanwhile();
    OrdinaryPagesMeanwhile(const OrdinaryPagesMeanwhile&) = delete;
    OrdinaryPagesMeanwhile& operator=(const OrdinaryPagesMeanwhile&) = delete;

private:
    [[maybe_unused]] bool paused_ = false;  // unused without mimalloc
};
