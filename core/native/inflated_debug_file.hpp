#pragma once
// A separate debug file (e.g. libc6-dbg's) whose DWARF sections are zlib-compressed
// (SHF_COMPRESSED), as the same ELF file in memory with the sections native frames are named
// from already inflated: libdw 0.188 inflates every compressed debug section when it opens a
// file, location lists and all, with zlib; this inflates only what symbolising needs, with
// libdeflate, and can do it ahead, on another thread, while the Python frames are read.
#include <cstdint>
#include <optional>
#include <span>

namespace stackscope {

// An anonymous file (memfd) holding the ELF file open at `fd` with its compressed name, line and
// scope sections inflated and its other compressed sections left out (SHT_NOBITS); nullopt when
// the file has no compressed section, is not a well-formed 64-bit ELF file, has no
// NT_GNU_BUILD_ID note equal to `build_id`, or inflating fails (the file is then left to
// libdwfl). The caller owns the returned descriptor; `fd` is not closed.
std::optional<int> inflated_debug_file(int fd, std::span<const uint8_t> build_id);

}  // namespace stackscope
