// Fuzz entry point of the ELF and core readers: the input is written to a memfd and opened
// by its /proc/self/fd path, as the tool opens a file named on its command line.
#include <sys/mman.h>
#include <unistd.h>

#include <elf.h>

#include <cstdlib>
#include <string>

#include "stackscope/core_file.hpp"
#include "target/elf_file.hpp"
#include "stackscope/error.hpp"
#include "fuzz_inputs.hpp"
#include "stackscope/snapshot.hpp"

namespace stackscope_fuzz {

namespace {

class MemFile {
public:
    explicit MemFile(std::span<const uint8_t> data) : fd_(memfd_create("stackscope-fuzz", MFD_CLOEXEC)) {
        if (fd_ < 0) std::abort();  // the harness itself cannot run
        size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
            if (n <= 0) std::abort();
            done += static_cast<size_t>(n);
        }
    }
    ~MemFile() { ::close(fd_); }
    MemFile(const MemFile&) = delete;
    MemFile& operator=(const MemFile&) = delete;
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
    int fd_;
};

void read_elf(const stackscope::ElfFile& elf) {
    (void)elf.symbol("_PyRuntime");
    (void)elf.symbol("Py_Version");
    (void)elf.section(".PyRuntime");
    (void)elf.build_id();
    (void)elf.first_load_vaddr();
    uint8_t buf[64];
    for (const stackscope::ElfSegment& s : elf.segments()) (void)elf.read_at(s.file_offset, buf, sizeof buf);
}

void read_core(const std::string& path) {
    stackscope::CoreFile core(path, {});
    (void)core.threads();
    (void)core.pid();
    uint8_t buf[256];
    size_t regions = 0;
    for (const stackscope::MemoryRegion& r : core.regions()) {
        if (++regions > 64) break;
        (void)core.read(r.start, buf);
        (void)core.read(r.end - sizeof buf / 2, buf);  // across the end of the region
        (void)core.local_file(r.path);
    }
    try {
        (void)stackscope::take_snapshot(core);
    } catch (const stackscope::Error&) {
        // not Python: the readers above the core are fuzzed by the frame-walker target
    }
}

}  // namespace

Outcome elf_core(std::span<const uint8_t> data) {
    MemFile file(data);
    const std::string path = file.path();
    try {
        bool is_core = false;
        {
            stackscope::ElfFile elf(path);
            read_elf(elf);
            (void)elf.notes();
            is_core = elf.type() == ET_CORE;
        }
        if (is_core) read_core(path);
        return Outcome::Value;
    } catch (const stackscope::Error&) {
        return Outcome::Error;
    }
}

}  // namespace stackscope_fuzz
