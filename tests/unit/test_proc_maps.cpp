// Tests for core/proc_maps.hpp: hand-written lines, and this process's own /proc/self/maps
// (including a mapped file whose name has spaces, before and after it is deleted).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "target/proc_maps.hpp"

using stackscope::MemoryRegion;
using stackscope::parse_proc_maps;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const MemoryRegion* find_path(const std::vector<MemoryRegion>& regions, const std::string& path) {
    for (const auto& r : regions) {
        if (r.path == path) return &r;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("parse_proc_maps parses hand-written lines", "[proc_maps]") {
    const std::string text =
        "55d0c8a00000-55d0c8a2c000 r--p 00000000 fd:01 1835133                    /usr/bin/python3.12\n"
        "55d0c8a2c000-55d0c8d6d000 r-xp 0002c000 fd:01 1835133                    /usr/bin/python3.12\n"
        "55d0ca1b0000-55d0ca2f3000 rw-p 00000000 00:00 0                          [heap]\n"
        "7f2e4c000000-7f2e4c021000 rw-p 00000000 00:00 0 \n"
        "7f2e50a00000-7f2e50a01000 ---p 00000000 00:00 0\n"
        "7f2e51000000-7f2e51100000 r--s 00001000 00:1a 42                         /dev/shm/a b  c.bin\n"
        "7f2e52000000-7f2e52003000 rw-p 00003000 fd:01 77                         /tmp/gone.so (deleted)\n"
        "7f2e53000000-7f2e53001000 r--p 00000000 fd:01 78                         /tmp/x (deleted)\n"
        "7ffd6a1e7000-7ffd6a208000 rw-p 00000000 00:00 0                          [stack]\n"
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
    const auto r = parse_proc_maps(text);
    REQUIRE(r.size() == 10);

    CHECK(r[0].start == 0x55d0c8a00000);
    CHECK(r[0].end == 0x55d0c8a2c000);
    CHECK(r[0].file_offset == 0);
    CHECK(r[0].path == "/usr/bin/python3.12");
    CHECK((r[0].readable && !r[0].writable && !r[0].executable));

    CHECK(r[1].file_offset == 0x2c000);
    CHECK((r[1].readable && !r[1].writable && r[1].executable));
    CHECK(r[1].contains(0x55d0c8a2c000));
    CHECK_FALSE(r[1].contains(0x55d0c8d6d000));

    CHECK(r[2].path == "[heap]");
    CHECK((r[2].readable && r[2].writable && !r[2].executable));

    CHECK(r[3].path.empty());  // anonymous, trailing space
    CHECK(r[3].start == 0x7f2e4c000000);
    CHECK(r[4].path.empty());  // anonymous, no trailing space
    CHECK((!r[4].readable && !r[4].writable && !r[4].executable));

    CHECK(r[5].path == "/dev/shm/a b  c.bin");  // spaces inside the path are kept
    CHECK(r[5].file_offset == 0x1000);
    CHECK((r[5].readable && !r[5].writable));

    CHECK(r[6].path == "/tmp/gone.so");
    CHECK(r[6].file_offset == 0x3000);
    CHECK(r[7].path == "/tmp/x");

    CHECK(r[8].path == "[stack]");
    CHECK(r[9].start == 0xffffffffff600000ull);
    CHECK(r[9].end == 0xffffffffff601000ull);
    CHECK(r[9].executable);
    CHECK_FALSE(r[9].readable);
}

TEST_CASE("parse_proc_maps skips malformed lines", "[proc_maps]") {
    const std::string text =
        "\n"
        "garbage\n"
        "12345\n"
        "zz-yy r--p 0 0 0 /x\n"
        "1000-2000 r--p\n"
        "1000-2000 r-xp 00000000 08:01 5 /lib/ok.so\n";
    const auto r = parse_proc_maps(text);
    REQUIRE(r.size() == 1);
    CHECK(r[0].start == 0x1000);
    CHECK(r[0].end == 0x2000);
    CHECK(r[0].path == "/lib/ok.so");
    CHECK(parse_proc_maps("").empty());
    // No trailing newline on the last line.
    const auto last = parse_proc_maps("1000-2000 rw-p 00000000 00:00 0 [heap]");
    REQUIRE(last.size() == 1);
    CHECK(last[0].path == "[heap]");
}

TEST_CASE("parse_proc_maps agrees with this process's /proc/self/maps", "[proc_maps]") {
    char tmpl[] = "/tmp/stackscope-maps-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    const std::string file = dir + "/a file  with spaces.bin";
    struct Cleanup {
        std::string dir, file;
        ~Cleanup() {
            ::unlink(file.c_str());
            ::rmdir(dir.c_str());
        }
    } cleanup{dir, file};
    {
        std::ofstream out(file, std::ios::binary);
        out << std::string(3 * 4096, 'z');
    }
    const int fd = ::open(file.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    void* mapped = ::mmap(nullptr, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    ::close(fd);
    REQUIRE(mapped != MAP_FAILED);
    const auto mapped_at = reinterpret_cast<uint64_t>(mapped);

    const std::string text = read_text("/proc/self/maps");
    const auto regions = parse_proc_maps(text);

    // Independent parse: one region per non-empty line, fields split on white space.
    std::istringstream in(text);
    std::string line;
    size_t lines = 0;
    bool saw_heap_or_stack = false;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        REQUIRE(lines < regions.size());
        std::istringstream fields(line);
        std::string range, perms, offset, dev, inode;
        fields >> range >> perms >> offset >> dev >> inode;
        std::string path;
        std::getline(fields, path);
        path.erase(0, std::min(path.size(), path.find_first_not_of(' ')));
        if (path.size() > 10 && path.ends_with(" (deleted)")) path.resize(path.size() - 10);
        const MemoryRegion& r = regions[lines++];
        INFO(line);
        CHECK(r.start == std::stoull(range.substr(0, range.find('-')), nullptr, 16));
        CHECK(r.end == std::stoull(range.substr(range.find('-') + 1), nullptr, 16));
        CHECK(r.file_offset == std::stoull(offset, nullptr, 16));
        CHECK(r.readable == (perms[0] == 'r'));
        CHECK(r.writable == (perms[1] == 'w'));
        CHECK(r.executable == (perms[2] == 'x'));
        CHECK(r.path == path);
        saw_heap_or_stack |= path == "[stack]" || path == "[heap]";
    }
    CHECK(lines == regions.size());
    CHECK(lines > 5);
    CHECK(saw_heap_or_stack);

    const MemoryRegion* ours = find_path(regions, file);
    REQUIRE(ours);
    CHECK(ours->start == mapped_at);
    CHECK(ours->end == mapped_at + 2 * 4096);
    CHECK(ours->file_offset == 4096);
    CHECK((ours->readable && !ours->writable && !ours->executable));

    // Once deleted, the kernel appends " (deleted)"; the parser strips it.
    REQUIRE(::unlink(file.c_str()) == 0);
    const std::string after = read_text("/proc/self/maps");
    CHECK(after.find(file + " (deleted)") != std::string::npos);
    const auto after_regions = parse_proc_maps(after);
    const MemoryRegion* deleted = find_path(after_regions, file);
    REQUIRE(deleted);
    CHECK(deleted->start == mapped_at);

    ::munmap(mapped, 2 * 4096);
}
