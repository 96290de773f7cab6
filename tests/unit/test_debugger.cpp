// What the debugger front-ends share (stackscope/debugger.hpp): the overlay target, the
// kernel's view of the debugger's threads, thread numbering, registers and thread handles,
// and how a debugger's process is opened.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stackscope/callback_target.hpp"
#include "stackscope/debugger.hpp"
#include "stackscope/error.hpp"
#include "stackscope/eval_calls.hpp"

using namespace stackscope;

namespace {

// This process's threads, as /proc lists them.
std::vector<int> own_tids() {
    std::vector<int> out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task"))
        out.push_back(std::stoi(entry.path().filename().string()));
    return out;
}

// A target that answers every question with something recognisable.
class InnerTarget final : public Target {
public:
    size_t read(uint64_t address, std::span<uint8_t> out) override {
        for (uint8_t& byte : out) byte = static_cast<uint8_t>(address);
        return out.size();
    }
    const std::vector<MemoryRegion>& regions() const override { return regions_; }
    std::vector<TargetThread> threads() const override { return {TargetThread{7, 0x700}}; }
    int pid() const override { return 42; }
    std::optional<std::string> local_file(const std::string& mapped_path) const override {
        return "/here" + mapped_path;
    }
    std::optional<uint64_t> lookup_symbol(std::string_view name) const override {
        return name == "inner_symbol" ? std::optional<uint64_t>(0x1000) : std::nullopt;
    }
    int host_tid(int tid_in_target) const override { return tid_in_target + 1000; }
    std::optional<ProcessInfo> process_info() const override {
        ProcessInfo info;
        info.pid = 42;
        info.command_line = "python3 app.py";
        return info;
    }
    std::string source_root() const override { return "/proc/42/root"; }

private:
    std::vector<MemoryRegion> regions_{MemoryRegion{0x1000, 0x2000, 0, "/usr/bin/python3"}};
};

DebuggerThread debugger_thread(int number, int tid, std::optional<uint64_t> pthread_id = std::nullopt) {
    return DebuggerThread{number, tid, pthread_id};
}

Thread snapshot_thread(std::optional<int> tid, std::optional<uint64_t> pthread_id) {
    Thread t;
    t.tid = tid;
    t.pthread_id = pthread_id;
    return t;
}

}  // namespace

TEST_CASE("an overlay target passes everything but threads and extra symbols through", "[debugger]") {
    std::vector<TargetThread> threads{TargetThread{1, std::nullopt}, TargetThread{2, 0x200}};
    OverlayTarget overlay(std::make_unique<InnerTarget>(), threads,
                          [](std::string_view name) -> std::optional<uint64_t> {
                              if (name == "inner_symbol") return 0xbad;  // the inner target's answer wins
                              if (name == "debugger_symbol") return 0x2000;
                              return std::nullopt;
                          });
    uint8_t byte = 0;
    CHECK(overlay.read(0x1234, std::span(&byte, 1)) == 1);
    CHECK(byte == 0x34);
    REQUIRE(overlay.regions().size() == 1);
    CHECK(overlay.regions()[0].path == "/usr/bin/python3");
    CHECK(overlay.pid() == 42);
    CHECK(overlay.local_file("/lib/libc.so.6") == "/here/lib/libc.so.6");
    CHECK(overlay.source_root() == "/proc/42/root");
    CHECK(overlay.host_tid(5) == 1005);
    REQUIRE(overlay.process_info());
    CHECK(overlay.process_info()->command_line == "python3 app.py");
    CHECK(overlay.lookup_symbol("inner_symbol") == 0x1000u);
    CHECK(overlay.lookup_symbol("debugger_symbol") == 0x2000u);
    CHECK(overlay.lookup_symbol("nothing") == std::nullopt);
    const std::vector<TargetThread> listed = overlay.threads();
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].tid == 1);
    CHECK(listed[1].pthread_id == 0x200u);

    OverlayTarget without_symbols(std::make_unique<InnerTarget>(), {}, nullptr);
    CHECK(without_symbols.lookup_symbol("debugger_symbol") == std::nullopt);
    CHECK(without_symbols.lookup_symbol("inner_symbol") == 0x1000u);

    // Whether reads are costly is the inner target's: a debugger's callbacks are.
    CHECK_FALSE(overlay.costly_reads());
    TargetCallbacks callbacks;
    callbacks.read = [](uint64_t, std::span<uint8_t>) -> size_t { return 0; };
    OverlayTarget over_callbacks(std::make_unique<CallbackTarget>(callbacks), {}, nullptr);
    CHECK(over_callbacks.costly_reads());
}

TEST_CASE("the kernel's view: registers, then the kernel's threads, then unknown", "[debugger]") {
    DebuggerThread with_registers = debugger_thread(1, 10);
    with_registers.syscall = 202;  // futex
    with_registers.syscall_arg0 = 0xf00;
    const std::vector<DebuggerThread> threads{with_registers, debugger_thread(2, 11), debugger_thread(3, 12, 0x1200)};
    std::vector<TargetThread> kernel{TargetThread{10, 0x1000, 230, 1}, TargetThread{11, 0x1100, -1, 0},
                                     TargetThread{12, 0x9999, 7, 0x70}, TargetThread{99, 0x9900, 0, 0}};
    const std::vector<TargetThread> merged = merge_kernel_view(threads, kernel);
    REQUIRE(merged.size() == 3);  // the debugger's threads only
    CHECK(merged[0].tid == 10);
    CHECK(merged[0].syscall == 202);  // the registers win
    CHECK(merged[0].syscall_arg0 == 0xf00u);
    CHECK(merged[0].pthread_id == 0x1000u);  // the debugger had none
    CHECK(merged[1].syscall == -1);          // from the kernel
    CHECK(merged[1].pthread_id == 0x1100u);
    CHECK(merged[2].syscall == 7);
    CHECK(merged[2].syscall_arg0 == 0x70u);
    CHECK(merged[2].pthread_id == 0x1200u);  // the debugger's pthread_t wins

    const std::vector<TargetThread> unknown = merge_kernel_view({debugger_thread(4, 13)}, kernel);
    REQUIRE(unknown.size() == 1);
    CHECK(unknown[0].syscall == std::nullopt);
    CHECK(unknown[0].pthread_id == std::nullopt);
}

TEST_CASE("debugger threads are numbered by tid, else by pthread_t", "[debugger]") {
    Snapshot snapshot;
    snapshot.threads = {snapshot_thread(10, 0xa0), snapshot_thread(std::nullopt, 0xb0),
                        snapshot_thread(std::nullopt, 0xc0), snapshot_thread(30, std::nullopt)};
    snapshot.threads[3].debugger_thread = 99;  // stale: numbered again
    number_threads(snapshot,
                   {debugger_thread(1, 10, 0xb0), debugger_thread(2, 20, 0xb0), debugger_thread(3, 21, 0xa0)});
    CHECK(snapshot.threads[0].debugger_thread == 1);  // by tid, although thread 3 has its pthread_t
    CHECK(snapshot.threads[1].debugger_thread == 1);  // the first with its pthread_t
    CHECK(snapshot.threads[2].debugger_thread == std::nullopt);
    CHECK(snapshot.threads[3].debugger_thread == std::nullopt);
    CHECK(threads_numbered(snapshot, 1) == std::vector<size_t>{0, 1});
    CHECK(threads_numbered(snapshot, 3).empty());
}

TEST_CASE("a thread handle is a little-endian pthread_t", "[debugger]") {
    const uint8_t handle[8] = {0x00, 0x07, 0x60, 0xf7, 0xff, 0x7f, 0x00, 0x00};
    CHECK(pthread_from_handle(handle) == 0x7ffff7600700u);
    CHECK(pthread_from_handle(std::span(handle, 4)) == std::nullopt);
    CHECK(pthread_from_handle({}) == std::nullopt);
}

TEST_CASE("orig_rax and rdi say which system call a thread is in", "[debugger]") {
    const KernelView futex = kernel_view_from_registers(202, 0x7f0000001234);
    CHECK(futex.syscall == 202);
    CHECK(futex.syscall_arg0 == 0x7f0000001234u);
    CHECK(kernel_view_from_registers(UINT64_MAX, 5).syscall == -1);  // not in a system call (as unsigned)
    CHECK(kernel_view_from_registers(static_cast<uint64_t>(int64_t{-1}), 0).syscall == -1);
}

TEST_CASE("only a thread in restart_syscall needs all its registers read", "[debugger]") {
    CHECK(needs_registers(219));                      // x86-64 restart_syscall
    CHECK_FALSE(needs_registers(202));                // futex
    CHECK_FALSE(needs_registers(~uint64_t{0}));       // no system call (-1)
    CHECK_FALSE(needs_registers(uint64_t{1} << 40));  // no such call
}

TEST_CASE("a native frame's stack runs from its sp to its caller's", "[debugger]") {
    const std::vector<std::optional<uint64_t>> sps{0x1000, 0x1100, std::nullopt, 0x1300};
    const auto stacks = native_stacks(sps);
    REQUIRE(stacks.size() == 4);
    CHECK(stacks[0] == std::make_pair(uint64_t{0x1000}, uint64_t{0x1100}));
    CHECK(stacks[1] == std::make_pair(uint64_t{0}, uint64_t{0}));  // the caller's sp is unknown
    CHECK(stacks[2] == std::make_pair(uint64_t{0}, uint64_t{0}));
    CHECK(stacks[3] == std::make_pair(uint64_t{0x1300}, UINT64_MAX));  // the oldest: all memory above
    CHECK(native_stacks({}).empty());
}

TEST_CASE("a process is the one here with its pid only with its executable and exactly its threads", "[debugger]") {
    const int pid = static_cast<int>(::getpid());
    const std::vector<int> tids = own_tids();
    REQUIRE(!tids.empty());
    CHECK(same_local_process(pid, "/proc/self/exe", tids));
    CHECK(same_local_process(pid, "", tids));  // no executable to compare
    CHECK(!same_local_process(pid, "/bin/sh", tids));
    CHECK(!same_local_process(pid, "/no/such/file", tids));
    std::vector<int> more = tids;
    more.push_back(0x7ffffff0);
    CHECK(!same_local_process(pid, "/proc/self/exe", more));
    CHECK(!same_local_process(pid, "/proc/self/exe", {}));
    CHECK(!same_local_process(0x7ffffff0, "", {0x7ffffff0}));
}

TEST_CASE("a debugger's process is read through it where nothing faster works", "[debugger]") {
    std::vector<bool> asked_registers;
    DebuggerProcess process;
    process.pid = 0x7ffffff0;  // no such process
    process.threads = [&asked_registers](bool with_registers) {
        asked_registers.push_back(with_registers);
        DebuggerThread t{1, 100, std::nullopt};
        if (with_registers) t.syscall = 230;
        return std::vector<DebuggerThread>{t};
    };
    process.callbacks.read = [](uint64_t, std::span<uint8_t> out) { return out.size(); };
    process.callbacks.regions = [] { return std::vector<MemoryRegion>{MemoryRegion{0x1000, 0x2000, 0, "/x"}}; };
    process.lookup_symbol = [](std::string_view name) -> std::optional<uint64_t> {
        return name == "_PyRuntime" ? std::optional<uint64_t>(0x1500) : std::nullopt;
    };

    SECTION("a live process that cannot be opened falls back to the debugger") {
        process.kind = DebuggerTargetKind::LocalLive;
        const DebuggerTarget opened = open_debugger_target(process, MemoryPath::Auto);
        CHECK(opened.target->regions().size() == 1);
        CHECK(opened.target->source_root() == "/proc/2147483632/root");
        CHECK(!opened.direct);
        CHECK(opened.target->lookup_symbol("_PyRuntime") == 0x1500u);  // the debugger's symbols at once
        REQUIRE(opened.threads.size() == 1);
        CHECK(asked_registers == std::vector<bool>{true});  // no /proc to tell
        CHECK(opened.target->threads().at(0).syscall == 230);
    }
    SECTION("a live process here is read directly, its kernel view from /proc") {
        process.kind = DebuggerTargetKind::LocalLive;
        process.pid = static_cast<int>(::getpid());
        const int tid = static_cast<int>(::gettid());
        process.threads = [&asked_registers, tid](bool with_registers) {
            asked_registers.push_back(with_registers);
            return std::vector<DebuggerThread>{DebuggerThread{1, tid, std::nullopt}};
        };
        const DebuggerTarget opened = open_debugger_target(process, MemoryPath::Auto);
        CHECK(asked_registers == std::vector<bool>{false});
        CHECK(opened.target->regions().size() > 1);  // this process's mappings, not the debugger's
        CHECK(opened.target->source_root() == "/proc/" + std::to_string(process.pid) + "/root");
        REQUIRE(opened.target->threads().size() == 1);
        CHECK(opened.target->threads()[0].tid == tid);
        CHECK(opened.direct);
        CHECK(opened.target->lookup_symbol("_PyRuntime") == std::nullopt);  // the files answer first
    }
    SECTION("a process that may be here is read directly when /proc/PID is it") {
        process.kind = DebuggerTargetKind::MaybeLocalLive;
        process.pid = static_cast<int>(::getpid());
        process.executable = "/proc/self/exe";
        process.threads = [&asked_registers](bool with_registers) {
            asked_registers.push_back(with_registers);
            std::vector<DebuggerThread> out;
            for (int tid : own_tids()) out.push_back(DebuggerThread{1, tid, std::nullopt});
            return out;
        };
        const DebuggerTarget opened = open_debugger_target(process, MemoryPath::Auto);
        CHECK(opened.direct);
        CHECK(opened.target->source_root() == "/proc/" + std::to_string(process.pid) + "/root");
    }
    SECTION("a process that only has its pid here (another host or PID namespace) is read through the debugger") {
        process.kind = DebuggerTargetKind::MaybeLocalLive;
        process.pid = static_cast<int>(::getpid());  // an unrelated process here has its pid
        const DebuggerTarget opened = open_debugger_target(process, MemoryPath::Auto);
        CHECK(!opened.direct);
        CHECK(opened.target->regions().size() == 1);  // the debugger's, not this process's
        CHECK(opened.target->source_root().empty());
        CHECK(asked_registers == std::vector<bool>{false, true});  // the check's list, then no /proc to tell
        CHECK(opened.target->threads().at(0).syscall == 230);
    }
    SECTION("read directly, the debugger's symbols are asked when no runtime was found without them") {
        process.kind = DebuggerTargetKind::LocalLive;
        process.pid = static_cast<int>(::getpid());  // runs no Python
        std::vector<std::string> asked;
        process.lookup_symbol = [&asked](std::string_view name) -> std::optional<uint64_t> {
            asked.emplace_back(name);
            return std::nullopt;
        };
        CHECK_THROWS_AS(read_debugger_snapshot(process, MemoryPath::Auto, false), Error);
        CHECK(std::count(asked.begin(), asked.end(), "_PyRuntime") == 1);
    }
    SECTION("another target is read through the debugger, with its registers") {
        process.kind = DebuggerTargetKind::Other;
        const DebuggerTarget opened = open_debugger_target(process, MemoryPath::Auto);
        CHECK(opened.target->source_root().empty());
        CHECK(opened.target->pid() == 0x7ffffff0);
        CHECK(asked_registers == std::vector<bool>{true});
        CHECK(opened.target->process_info() == std::nullopt);
    }
    SECTION("read through the debugger, what it knows of the process is the target's process_info") {
        process.kind = DebuggerTargetKind::Other;
        process.callbacks.process_info = [] {
            ProcessInfo info;
            info.pid = 42;
            info.fatal_signal =
                FatalSignal{.tid = 100, .number = 6, .code = -6, .address = std::nullopt, .sender_pid = 42};
            return std::optional<ProcessInfo>(info);
        };
        const std::optional<ProcessInfo> info = open_debugger_target(process, MemoryPath::Auto).target->process_info();
        REQUIRE(info);
        CHECK(info->pid == 42);
        REQUIRE(info->fatal_signal);
        CHECK((info->fatal_signal->tid == 100 && info->fatal_signal->number == 6 && info->fatal_signal->code == -6));
        CHECK(info->fatal_signal->sender_pid == 42);
    }
    SECTION("a core without a path, or one that cannot be opened here, is read through the debugger") {
        process.kind = DebuggerTargetKind::Core;
        CHECK(open_debugger_target(process, MemoryPath::Auto).target->regions().size() == 1);
        process.core_path = "/nonexistent/core";
        const DebuggerTarget opened = open_debugger_target(process, MemoryPath::Auto);
        CHECK(!opened.direct);
        CHECK(opened.target->regions().size() == 1);
        CHECK(open_debugger_target(process, MemoryPath::Debugger).target->regions().size() == 1);
    }
    SECTION("no read callback where one is needed") {
        process.kind = DebuggerTargetKind::Other;
        process.callbacks.read = nullptr;
        CHECK_THROWS_AS(open_debugger_target(process, MemoryPath::Auto), Error);
    }
}
