#include <catch2/catch.hpp>

#include "target/proc_syscall.hpp"
#include "target/syscall_names.hpp"
#include "cpython/thread_activity.hpp"

using namespace stackscope;

TEST_CASE("/proc/PID/task/TID/syscall is parsed", "[activity]") {
    const auto running = parse_proc_syscall("running\n");
    REQUIRE(running);
    CHECK(running->number == -1);
    const auto user = parse_proc_syscall("-1 0x7ffd5a3c1e48 0x7f3a1c2b3c4d\n");
    REQUIRE(user);
    CHECK(user->number == -1);
    const auto futex =
        parse_proc_syscall("202 0x7f3a1c0d8a80 0x189 0x0 0x0 0x0 0xffffffff 0x7f3a1b7fd9b0 0x7f3a1c27c9e6\n");
    REQUIRE(futex);
    CHECK(futex->number == 202);
    CHECK(futex->arg0 == 0x7f3a1c0d8a80);
    CHECK_FALSE(parse_proc_syscall(""));
    CHECK_FALSE(parse_proc_syscall("-2 0x1 0x2"));
    CHECK_FALSE(parse_proc_syscall("abc"));
    CHECK_FALSE(parse_proc_syscall("202"));
    CHECK_FALSE(parse_proc_syscall("202 zz"));
    CHECK_FALSE(parse_proc_syscall("202x 0x1"));
}

TEST_CASE("x86-64 syscall names", "[activity]") {
    CHECK(syscall_name(0) == "read");
    CHECK(syscall_name(23) == "select");
    CHECK(syscall_name(kSyscallFutex) == "futex");
    CHECK(syscall_name(230) == "clock_nanosleep");
    CHECK(syscall_name(270) == "pselect6");
    CHECK(syscall_name(435) == "clone3");
    CHECK_FALSE(syscall_name(-1));
    CHECK_FALSE(syscall_name(400));  // the gap between 334 and 424
    CHECK_FALSE(syscall_name(100000));
}

TEST_CASE("the kernel's view becomes the thread's activity", "[activity]") {
    PythonLayout layout;
    layout.gil_size = 208;
    GilState gil;
    gil.address = 0x1000;
    auto activity = [&](std::optional<int64_t> number, uint64_t arg0) {
        Thread t;
        TargetThread kernel;
        kernel.syscall = number;
        kernel.syscall_arg0 = arg0;
        set_kernel_activity(t, kernel, gil, layout);
        return std::make_pair(t.activity, t.syscall.value_or("-"));
    };
    CHECK(activity(std::nullopt, 0) == std::make_pair(ThreadActivity::Unknown, std::string("-")));
    CHECK(activity(-1, 0) == std::make_pair(ThreadActivity::Running, std::string("-")));
    CHECK(activity(230, 0) == std::make_pair(ThreadActivity::Idle, std::string("clock_nanosleep")));
    CHECK(activity(202, 0x1000 + 32) == std::make_pair(ThreadActivity::WaitingForGil, std::string("futex")));  // cond
    CHECK(activity(202, 0x1000 + 207) == std::make_pair(ThreadActivity::WaitingForGil, std::string("futex")));
    CHECK(activity(202, 0x1000 + 208) == std::make_pair(ThreadActivity::Idle, std::string("futex")));  // past it
    CHECK(activity(202, 0xfff) == std::make_pair(ThreadActivity::Idle, std::string("futex")));
    CHECK(activity(0, 0x1000) == std::make_pair(ThreadActivity::Idle, std::string("read")));  // not a futex
    CHECK(activity(399, 0) == std::make_pair(ThreadActivity::Idle, std::string("syscall 399")));
    gil.address = 0;  // GIL unknown: a futex is just a futex
    CHECK(activity(202, 0x20) == std::make_pair(ThreadActivity::Idle, std::string("futex")));
}
