// A thread that cannot stop while the process is read (in uninterruptible sleep: here a
// vfork() parent waiting for its child) must not stay stopped once it wakes, also when the
// caller lives on (the gdb module's from_pid, a Python program using it).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "stackscope/live_process.hpp"

namespace {

// The state letter of /proc/PID/stat ('R', 'S', 'D', 't' ...); 0 when unreadable.
char process_state(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    return close == std::string::npos || close + 2 >= text.size() ? 0 : text[close + 2];
}

bool wait_for_state(pid_t pid, char state, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (process_state(pid) == state) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

}  // namespace

TEST_CASE("LiveProcess: a thread that could not stop is not left stopped when it wakes", "[live_process]") {
    constexpr int kChildSeconds = 3;  // longer than LiveProcess waits for a thread to stop (2 s)
    const pid_t target = fork();
    REQUIRE(target >= 0);
    if (target == 0) {
        // In D state until the vfork child exits.
        if (vfork() == 0) {
            sleep(kChildSeconds);
            _exit(0);
        }
        for (;;) pause();
    }
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(wait_for_state(target, 'D', std::chrono::milliseconds(1000)));
    {
        stackscope::LiveProcess process(target, {});
        CHECK(process.holds_threads());
        process.detach();
    }
    // This thread lives on (as a debugger's would): once the vfork child is gone, the target
    // runs again, sleeping in pause(), not stopped for its tracer.
    std::this_thread::sleep_until(started + std::chrono::seconds(kChildSeconds) + std::chrono::milliseconds(500));
    CHECK(wait_for_state(target, 'S', std::chrono::milliseconds(2000)));
    CHECK(process_state(target) != 't');
    kill(target, SIGKILL);
    int status = 0;
    waitpid(target, &status, 0);
}
