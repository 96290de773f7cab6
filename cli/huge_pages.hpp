#pragma once

// Asks for the CLI's heap to be backed by transparent huge pages (2 MiB) where the allocator and
// the kernel allow it. Reading ten thousand asyncio tasks touches about 40 MB: in 4 KiB pages
// that is over 8,000 page faults, a tenth of the command's time, and as many pages to free at
// exit. Does nothing without mimalloc, or where the user set mimalloc's own options.
void use_huge_pages_for_heap();
