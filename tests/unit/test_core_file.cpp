// Tests for core/core_file.hpp on a real core file made at test time: this test binary forks a
// child (same addresses as the parent), the child starts a second thread and reports its
// thread ids and pthread_self() values, and gdb's `gcore` dumps it.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <elf.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "stackscope/core_file.hpp"
#include "target/elf_file.hpp"
#include "stackscope/error.hpp"

extern char** environ;

using stackscope::CoreFile;
using stackscope::CoreFileOptions;
using stackscope::ElfFile;
using stackscope::Error;
using stackscope::ErrorKind;

// Code whose bytes are compared through the core (read-only text, so normally absent from it).
extern "C" __attribute__((noinline, used)) int stackscope_test_core_marker_function(int x) {
    return x * 7 + (x >> 3) - 11;
}

#if defined(__SANITIZE_ADDRESS__)
#define STACKSCOPE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STACKSCOPE_TEST_ASAN 1
#endif
#endif

namespace {

// gcore of an AddressSanitizer process writes its shadow memory: a core of tens of GB.
#ifdef STACKSCOPE_TEST_ASAN
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// Written by the child after the fork: only the child's memory (so the core) holds this text.
char g_child_buffer[256] = "initial contents from the executable file";
// Written by the parent before the fork: in both.
char g_parent_buffer[4096];

struct ChildInfo {
    pid_t pid = 0;
    std::map<int, uint64_t> pthread_by_tid;
};

void* child_thread(void* arg) {
    const int fd = *static_cast<int*>(arg);
    char line[64];
    const int n = std::snprintf(line, sizeof line, "%ld %llu\n", static_cast<long>(::syscall(SYS_gettid)),
                                static_cast<unsigned long long>(::pthread_self()));
    (void)!::write(fd, line, static_cast<size_t>(n));
    for (;;) ::pause();
    return nullptr;
}

[[noreturn]] void child_main(int fd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test run
    std::snprintf(g_child_buffer, sizeof g_child_buffer, "written by child %d after fork",
                  static_cast<int>(::getpid()));
    char line[64];
    int n = std::snprintf(line, sizeof line, "%ld %llu\n", static_cast<long>(::syscall(SYS_gettid)),
                          static_cast<unsigned long long>(::pthread_self()));
    (void)!::write(fd, line, static_cast<size_t>(n));
    pthread_t t;
    static int thread_fd;
    thread_fd = fd;
    if (::pthread_create(&t, nullptr, child_thread, &thread_fd) != 0) ::_exit(3);
    for (;;) ::pause();
}

std::string self_exe() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string env_without_python() {
    std::string unset;
    for (char** e = environ; *e; ++e) {
        const std::string var(*e);
        if (var.rfind("PYTHON", 0) == 0) unset += " -u '" + var.substr(0, var.find('=')) + "'";
    }
    return "env" + unset;
}

std::set<int> task_ids(pid_t pid) {
    std::set<int> out;
    const std::string path = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = ::opendir(path.c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') out.insert(std::atoi(e->d_name));
    }
    ::closedir(d);
    return out;
}

void copy_file(const std::string& from, const std::string& to, size_t limit = SIZE_MAX) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary);
    std::vector<char> buf(1 << 16);
    size_t copied = 0;
    while (copied < limit && in) {
        in.read(buf.data(), static_cast<std::streamsize>(std::min(buf.size(), limit - copied)));
        const auto n = static_cast<size_t>(in.gcount());
        if (n == 0) break;
        out.write(buf.data(), static_cast<std::streamsize>(n));
        copied += n;
    }
}

// One core for all test cases of this file (gcore takes about a second).
struct CoreFixture {
    std::string dir;
    std::string core_path;
    std::string exe;
    ChildInfo child;
    std::set<int> tasks;
    std::string failure;

    CoreFixture() {
        if (kSanitized) {
            failure = "skipped";
            return;
        }
        std::snprintf(g_parent_buffer, sizeof g_parent_buffer, "parent wrote this before forking (%d)",
                      static_cast<int>(::getpid()));
        for (size_t i = 100; i < sizeof g_parent_buffer; ++i) g_parent_buffer[i] = static_cast<char>(i * 13);
        char tmpl[] = "/tmp/stackscope-core-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            failure = "mkdtemp failed";
            return;
        }
        dir = tmpl;
        exe = self_exe();
        int fds[2];
        if (::pipe(fds) != 0) {
            failure = "pipe failed";
            return;
        }
        std::fflush(nullptr);
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::close(fds[0]);
            child_main(fds[1]);
        }
        ::close(fds[1]);
        child.pid = pid;
        // Two lines: the main thread's, then the second thread's.
        std::string text;
        char buf[256];
        while (std::count(text.begin(), text.end(), '\n') < 2) {
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            text.append(buf, static_cast<size_t>(n));
        }
        ::close(fds[0]);
        std::istringstream in(text);
        long tid;
        unsigned long long pthread;
        while (in >> tid >> pthread) child.pthread_by_tid[static_cast<int>(tid)] = pthread;
        if (child.pthread_by_tid.size() != 2) {
            failure = "the child did not report its threads: '" + text + "'";
            return;
        }
        tasks = task_ids(pid);
        const std::string prefix = dir + "/c";
        // ulimit -f: never let a surprise fill the disk (the normal core is a few MB).
        const std::string command = "ulimit -f 1048576; " + env_without_python() + " timeout 60 gcore -o '" + prefix +
                                    "' " + std::to_string(pid) + " > '" + dir + "/gcore.log' 2>&1";
        const int rc = std::system(command.c_str());
        core_path = prefix + "." + std::to_string(pid);
        if (rc != 0 || ::access(core_path.c_str(), R_OK) != 0) {
            std::ifstream log(dir + "/gcore.log");
            std::stringstream s;
            s << log.rdbuf();
            failure = "gcore failed (" + command + "): " + s.str();
        }
    }
    ~CoreFixture() {
        if (child.pid > 0) {
            ::kill(child.pid, SIGKILL);
            ::waitpid(child.pid, nullptr, 0);
        }
        if (!dir.empty()) std::system(("rm -rf '" + dir + "'").c_str());
    }
};

CoreFixture& fixture() {
    static CoreFixture f;
    return f;
}

// False (with a warning) in sanitizer builds, where the core test is not run.
bool core_available() {
    if (!kSanitized) return true;
    WARN("CoreFile tests skipped in an AddressSanitizer build: gcore would dump the shadow memory (tens of GB)");
    SUCCEED();
    return false;
}

std::unique_ptr<CoreFile> open_core(CoreFileOptions options = {}) {
    CoreFixture& f = fixture();
    INFO(f.failure);
    REQUIRE(f.failure.empty());
    return std::make_unique<CoreFile>(f.core_path, std::move(options));
}

// The core's PT_LOAD that holds `address`, if any.
const stackscope::ElfSegment* load_segment(const ElfFile& core, uint64_t address) {
    for (const auto& s : core.segments()) {
        if (s.type == PT_LOAD && s.vaddr <= address && address < s.vaddr + s.mem_size) return &s;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("CoreFile: process id and threads of a gcore'd child", "[core_file]") {
    if (!core_available()) return;
    auto core = open_core();
    CoreFixture& f = fixture();
    CHECK(core->pid() == f.child.pid);

    const auto threads = core->threads();
    std::set<int> tids;
    for (const auto& t : threads) tids.insert(t.tid);
    CHECK(threads.size() == f.tasks.size());
    CHECK(tids == f.tasks);
    CHECK(threads.size() == 2);
    for (const auto& t : threads) {
        INFO("tid " << t.tid);
        REQUIRE(t.pthread_id);
        CHECK(*t.pthread_id != 0);
        REQUIRE(f.child.pthread_by_tid.count(t.tid));
        CHECK(*t.pthread_id == f.child.pthread_by_tid.at(t.tid));  // fs_base == pthread_self()
    }
}

TEST_CASE("CoreFile: regions name the executable and cover known addresses", "[core_file]") {
    if (!core_available()) return;
    auto core = open_core();
    CoreFixture& f = fixture();
    const auto& regions = core->regions();
    REQUIRE(!regions.empty());
    CHECK(
        std::is_sorted(regions.begin(), regions.end(), [](const auto& a, const auto& b) { return a.start < b.start; }));

    const auto code = reinterpret_cast<uint64_t>(&stackscope_test_core_marker_function);
    bool exe_has_code = false, exe_offset_zero = false;
    for (const auto& r : regions) {
        CHECK(r.start < r.end);
        if (r.path != f.exe) continue;
        exe_has_code |= r.contains(code);
        exe_offset_zero |= r.file_offset == 0;
    }
    CHECK(exe_has_code);
    CHECK(exe_offset_zero);

    // Anonymous memory (the heap, thread stacks) is there too.
    bool anonymous = false;
    for (const auto& r : regions) anonymous |= r.path.empty();
    CHECK(anonymous);
    CHECK(core->local_file(f.exe) == f.exe);
    CHECK_FALSE(core->local_file("/nonexistent/libmissing.so"));
}

TEST_CASE("CoreFile: reads the child's memory from the core", "[core_file]") {
    if (!core_available()) return;
    auto core = open_core();
    CoreFixture& f = fixture();

    SECTION("data the child wrote after the fork") {
        const std::string expected = "written by child " + std::to_string(f.child.pid) + " after fork";
        std::vector<uint8_t> buf(expected.size() + 1);
        REQUIRE(core->read(reinterpret_cast<uint64_t>(g_child_buffer), buf) == buf.size());
        CHECK(std::string(reinterpret_cast<const char*>(buf.data())) == expected);
    }
    SECTION("a page-crossing buffer the parent wrote before the fork") {
        std::vector<uint8_t> buf(sizeof g_parent_buffer);
        REQUIRE(core->read(reinterpret_cast<uint64_t>(g_parent_buffer), buf) == buf.size());
        CHECK(std::memcmp(buf.data(), g_parent_buffer, sizeof g_parent_buffer) == 0);
    }
    SECTION("unmapped addresses read nothing") {
        std::vector<uint8_t> buf(16);
        CHECK(core->read(0, buf) == 0);
        CHECK(core->read(0x1000, buf) == 0);
        CHECK(core->read(UINT64_MAX - 8, buf) == 0);
    }
}

TEST_CASE("CoreFile: read-only text comes from the file named by NT_FILE", "[core_file]") {
    if (!core_available()) return;
    CoreFixture& f = fixture();
    auto core = open_core();
    const auto code = reinterpret_cast<uint64_t>(&stackscope_test_core_marker_function);
    std::vector<uint8_t> expected(64);
    std::memcpy(expected.data(), reinterpret_cast<const void*>(code), expected.size());

    // The text is not in the core (coredump_filter leaves out file-backed private pages)...
    ElfFile raw(f.core_path);
    const auto* seg = load_segment(raw, code);  // gcore writes no PT_LOAD at all for such pages
    const bool in_core = seg && code + expected.size() <= seg->vaddr + seg->file_size;
    // Then the core's copy would be read, and the fallback would go unchecked.
    if (in_core) FAIL("gcore dumped the executable's text: the NT_FILE fallback cannot be checked");

    // ...but CoreFile reads it from the executable.
    std::vector<uint8_t> got(expected.size());
    REQUIRE(core->read(code, got) == got.size());
    CHECK(got == expected);

    // With --executable pointing at a patched copy, the patched bytes are what is read.
    const stackscope::MemoryRegion* region = nullptr;
    for (const auto& r : core->regions()) {
        if (r.path == f.exe && r.contains(code)) region = &r;
    }
    REQUIRE(region);
    const uint64_t file_offset = region->file_offset + (code - region->start);
    const std::string patched = f.dir + "/patched-exe";
    copy_file(f.exe, patched);
    {
        std::fstream io(patched, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(static_cast<std::streamoff>(file_offset));
        io.write("PATCHED!", 8);
    }
    SECTION("CoreFileOptions::executable") {
        CoreFileOptions options;
        options.executable = patched;
        auto relocated = open_core(options);
        CHECK(relocated->local_file(f.exe) == patched);
        std::vector<uint8_t> bytes(16);
        REQUIRE(relocated->read(code, bytes) == bytes.size());
        CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "PATCHED!");
        CHECK(std::equal(bytes.begin() + 8, bytes.end(), expected.begin() + 8));
    }
    SECTION("CoreFileOptions::lib_search_path") {
        const std::string lib_dir = f.dir + "/libs";
        REQUIRE(std::system(("mkdir -p '" + lib_dir + "'").c_str()) == 0);
        const std::string base = f.exe.substr(f.exe.rfind('/') + 1);
        REQUIRE(std::rename(patched.c_str(), (lib_dir + "/" + base).c_str()) == 0);
        CoreFileOptions options;
        options.lib_search_path = {f.dir + "/empty-dir", lib_dir};
        auto relocated = open_core(options);
        CHECK(relocated->local_file(f.exe) == lib_dir + "/" + base);
        std::vector<uint8_t> bytes(8);
        REQUIRE(relocated->read(code, bytes) == bytes.size());
        CHECK(std::string(bytes.begin(), bytes.end()) == "PATCHED!");
        ::unlink((lib_dir + "/" + base).c_str());
    }
    ::unlink(patched.c_str());
}

TEST_CASE("CoreFile: damaged or wrong input files", "[core_file]") {
    if (!core_available()) return;
    CoreFixture& f = fixture();
    REQUIRE(f.failure.empty());

    SECTION("a truncated core (first 64 KiB)") {
        const std::string truncated = f.dir + "/truncated";
        copy_file(f.core_path, truncated, 64 * 1024);
        try {
            CoreFile core(truncated, {});
            // If accepted, reads must stay within the file.
            std::vector<uint8_t> buf(4096);
            (void)core.read(reinterpret_cast<uint64_t>(g_parent_buffer), buf);
            for (const auto& r : core.regions()) (void)core.read(r.start, buf);
            SUCCEED("opened; reads stayed in bounds");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::BadInput);
        }
        ::unlink(truncated.c_str());
    }
    SECTION("random bytes") {
        const std::string random = f.dir + "/random";
        std::mt19937_64 rng(12345);
        std::string bytes(64 * 1024, '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        std::ofstream(random, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        try {
            CoreFile core(random, {});
            FAIL("random bytes were accepted as a core");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::BadInput);
        }
        ::unlink(random.c_str());
    }
    SECTION("an ELF file that is not a core") {
        try {
            CoreFile core(f.exe, {});
            FAIL("an executable was accepted as a core");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::BadInput);
            CHECK_THAT(e.what(), Catch::Contains("not a core file"));
        }
    }
    SECTION("a core header whose segments lie past the end of the file") {
        // Keep the ELF header, program headers and notes; cut before the first PT_LOAD's data.
        ElfFile raw(f.core_path);
        uint64_t first_load = UINT64_MAX;
        for (const auto& s : raw.segments()) {
            if (s.type == PT_LOAD && s.file_size) first_load = std::min(first_load, s.file_offset);
        }
        REQUIRE(first_load != UINT64_MAX);
        const std::string cut = f.dir + "/cut";
        copy_file(f.core_path, cut, static_cast<size_t>(first_load));
        try {
            CoreFile core(cut, {});
            std::vector<uint8_t> buf(64);
            CHECK(core.read(reinterpret_cast<uint64_t>(g_child_buffer), buf) == 0);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::BadInput);
        }
        ::unlink(cut.c_str());
    }
    SECTION("a segment whose offset plus size wraps past 2^64") {
        const std::string wrapped = f.dir + "/wrapped";
        copy_file(f.core_path, wrapped);
        Elf64_Ehdr header{};
        std::fstream file(wrapped, std::ios::in | std::ios::out | std::ios::binary);
        REQUIRE(file.read(reinterpret_cast<char*>(&header), sizeof header));
        bool patched = false;
        for (unsigned i = 0; i < header.e_phnum && !patched; ++i) {
            const auto at = static_cast<std::streamoff>(header.e_phoff + i * sizeof(Elf64_Phdr));
            Elf64_Phdr ph{};
            file.seekg(at);
            REQUIRE(file.read(reinterpret_cast<char*>(&ph), sizeof ph));
            if (ph.p_type != PT_LOAD || ph.p_offset == 0) continue;
            ph.p_filesz = UINT64_MAX - ph.p_offset + 2;  // the end wraps to 1
            file.seekp(at);
            REQUIRE(file.write(reinterpret_cast<const char*>(&ph), sizeof ph));
            patched = true;
        }
        REQUIRE(patched);
        file.close();
        try {
            CoreFile core(wrapped, {});
            FAIL("a segment ending past 2^64 was accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::BadInput);
            CHECK_THAT(e.what(), Catch::Contains("past 2^64"));
        }
        ::unlink(wrapped.c_str());
    }
}
