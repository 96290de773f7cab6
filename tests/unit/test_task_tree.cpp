#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "extract/asyncio_tasks.hpp"
#include "stackscope/formatters.hpp"

using namespace stackscope;

namespace {

Frame frame(const std::string& function, int line, const std::string& source) {
    Frame f;
    f.function = f.name = function;
    f.module = "__main__";
    f.filename = "/srv/app.py";
    f.line = line;
    f.source = source;
    return f;
}

Task task(uint64_t id, const std::string& name, std::vector<Frame> frames, std::vector<TaskAwaiter> awaited_by) {
    Task t;
    t.id = id;
    t.name = name;
    t.loop = 0x7000;
    t.loop_thread = 11;
    t.awaited_by = std::move(awaited_by);
    t.stack.root.kind = StackRootKind::Task;
    t.stack.root.address = id;
    t.stack.root.description = "<Task pending name='" + name + "'>";
    t.stack.frames = std::move(frames);
    return t;
}

// main (a TaskGroup child `child`), `child` and `other` both await `shared`, which `child`
// (the lower id) shows; `ping` and `pong` await each other.
Snapshot sample() {
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.tasks_asked = true;
    Thread t;
    t.tid = 11;
    t.name = "MainThread";
    t.running_loop = 0x7000;
    t.running_task = 0x100;
    snap.threads.push_back(t);
    Frame main = frame("main", 20, "await asyncio.sleep(1)");
    Context group;
    group.address = 0x900;
    group.varname = "tg";
    group.type_name = "TaskGroup";
    group.start_line = 18;
    group.is_async = true;
    group.source = "async with asyncio.TaskGroup() as tg:";
    main.contexts.push_back(group);
    snap.tasks.push_back(task(0x100, "main", {main}, {}));
    snap.tasks.push_back(task(0x200, "child", {frame("child", 5, "await shared")}, {{0x100, 0x900}}));
    snap.tasks.push_back(task(0x300, "shared", {frame("leaf", 2, "await asyncio.sleep(9)")}, {{0x200, 0}, {0x400, 0}}));
    snap.tasks.push_back(task(0x400, "other", {frame("other", 7, "await shared")}, {}));
    Task ping = task(0x500, "ping", {frame("ping", 30, "await pong")}, {{0x600, 0}});
    Task pong = task(0x600, "pong", {frame("pong", 31, "await ping")}, {{0x500, 0}});
    ping.cycle = pong.cycle = true;
    snap.tasks.push_back(ping);
    snap.tasks.push_back(pong);
    return snap;
}

// sample()'s thread with `count` root tasks t0, t1, ..., each one frame deep.
Snapshot sample_with_roots(uint64_t count) {
    Snapshot snap = sample();
    snap.tasks.clear();
    for (uint64_t i = 0; i < count; ++i)
        snap.tasks.push_back(task(0x10000 + 0x100 * i, "t" + std::to_string(i), {frame("leaf", 2, "await x")}, {}));
    return snap;
}

}  // namespace

TEST_CASE("task trees: children under their group or awaiting line, shared tasks once, cycles once", "[format]") {
    const std::string text = format_snapshot_tree(sample(), TreeOptions{});
    CHECK(text ==
          "Thread 11 \"MainThread\" (running task 'main'):\n"
          "stackscope.Stack (most recent call last):\n"
          "\n"
          "Event loop 0x7000 on thread 11 \"MainThread\": 6 tasks\n"
          "stackscope.Stack of <Task pending name='main'> (most recent call last):\n"
          "╠ main in __main__ at /srv/app.py:20\n"
          "║ ├ async with asyncio.TaskGroup() as tg:  # tg: TaskGroup (line 18)\n"
          "║ │   \n"
          "║ ├── <Task pending name='child'>\n"
          "║ │   ╠ child in __main__ at /srv/app.py:5\n"
          "║ │   ║ ├ await shared  # awaits 1 task\n"
          "║ │   ║ │   \n"
          "║ │   ║ ├── <Task pending name='shared'>\n"
          "║ │   ║ │   ╠ leaf in __main__ at /srv/app.py:2\n"
          "║ │   ║ │   ║ └ await asyncio.sleep(9)\n"
          "║ │   ║ │   \n"
          "║ │   ║ └ await shared\n"
          "║ │   \n"
          "║ └ await asyncio.sleep(1)\n"
          "\n"
          "stackscope.Stack of <Task pending name='other'> (most recent call last):\n"
          "╠ other in __main__ at /srv/app.py:7\n"
          "║ ├ await shared  # awaits 1 task\n"
          "║ ├── <Task pending name='shared'> (shown under 'child')\n"
          "║ └ await shared\n"
          "\n"
          "stackscope.Stack of <Task pending name='ping'> (on a cycle of awaits) (most recent call last):\n"
          "╠ ping in __main__ at /srv/app.py:30\n"
          "║ ├ await pong  # awaits 1 task\n"
          "║ │   \n"
          "║ ├── <Task pending name='pong'>\n"
          "║ │   ╠ pong in __main__ at /srv/app.py:31\n"
          "║ │   ║ ├ await ping  # awaits 1 task\n"
          "║ │   ║ ├── <Task pending name='ping'> (awaits itself through the tasks above: a cycle)\n"
          "║ │   ║ └ await ping\n"
          "║ │   \n"
          "║ └ await pong\n");
}

TEST_CASE("task trees: a long list of roots, written by two threads, reads as one written in order", "[format]") {
    // Well over the roots the text writes on one thread (kRootsForTwoThreads), in many runs.
    constexpr int kRoots = 2000;
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.tasks_asked = true;
    std::string expected;
    for (int i = 1; i <= kRoots; ++i) {
        const std::string name = "t" + std::to_string(i);
        snap.tasks.push_back(task(0x1000 + 0x10 * i, name, {frame("f" + std::to_string(i), i, "await x")}, {}));
        if (i > 1) expected += "\n";
        expected += "stackscope.Stack of <Task pending name='" + name + "'> (most recent call last):\n" + "╠ f" +
                    std::to_string(i) + " in __main__ at /srv/app.py:" + std::to_string(i) + "\n║ └ await x\n";
    }
    const std::string header = "\nEvent loop 0x7000 on thread 11: " + std::to_string(kRoots) + " tasks\n";
    const std::string kept = format_snapshot_tree(snap, TreeOptions{});
    CHECK(kept == header + expected);
    Snapshot taken = snap;
    CHECK(joined(format_snapshot_tree_taking_task_stacks(taken, TreeOptions{})) == header + expected);
}

TEST_CASE("task trees: a long list's runs are pieces that join into the one text", "[format]") {
    Snapshot snap = sample_with_roots(1000);
    const std::string whole = format_snapshot_tree(snap, TreeOptions{});
    Snapshot taken = snap;
    const TextPieces pieces = format_snapshot_tree_taking_task_stacks(taken, TreeOptions{});
    CHECK(pieces.size() > 2);  // the runs of two threads, between what comes before and after
    CHECK(joined(pieces) == whole);
    CHECK(whole.find("stackscope.Stack of <Task pending name='t999'>") != std::string::npos);
}

TEST_CASE("task trees: a long list's text goes to a sink in order as it is made, the rest is returned", "[format]") {
    Snapshot snap = sample_with_roots(3000);
    const std::string whole = format_snapshot_tree(snap, TreeOptions{});
    std::string streamed;
    int calls = 0;
    std::atomic<int> inside{0};
    bool overlapped = false;
    const TextSink sink = [&](std::string_view text) {
        overlapped = overlapped || inside.fetch_add(1) != 0;
        ++calls;
        streamed += text;
        // A slow reader: the other thread meanwhile finishes runs of its own, which wait their turn.
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        inside.fetch_sub(1);
    };
    stackscope::HelperThread helper;
    TreeOptions options;
    options.helper = &helper;
    options.sink = &sink;
    Snapshot taken = snap;
    const TextPieces rest = format_snapshot_tree_taking_task_stacks(taken, options);
    CHECK_FALSE(overlapped);  // one call at a time
    CHECK(calls > 2);         // what came before the roots, then their runs
    CHECK(streamed.rfind("Thread ", 0) == 0);
    CHECK(streamed + joined(rest) == whole);
}

TEST_CASE("task trees made by hand: a task with id 0 drawn once, an id listed twice drawn without a crash",
          "[format]") {
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.tasks_asked = true;
    snap.tasks.push_back(task(0, "zero", {frame("zero", 3, "await child")}, {}));
    snap.tasks.push_back(task(0x200, "child", {frame("child", 5, "await x")}, {{0, 0}}));
    const std::string text = format_snapshot_tree(snap, TreeOptions{});
    // Task 0 is a root; its child, whose full awaiter is "none" (0), is a root of its own too.
    CHECK(text.find("stackscope.Stack of <Task pending name='zero'>") != std::string::npos);
    CHECK(text.find("name='zero'") == text.rfind("name='zero'"));

    Snapshot twice;
    twice.python_version = "3.12.1";
    twice.tasks_asked = true;
    twice.tasks.push_back(task(0x300, "first", {frame("first", 7, "await x")}, {}));
    twice.tasks.push_back(task(0x400, "awaiter", {frame("awaiter", 8, "await first")}, {}));
    twice.tasks.push_back(task(0x300, "again", {frame("again", 9, "await x")}, {{0x400, 0}}));
    const std::string drawn = format_snapshot_tree(twice, TreeOptions{});
    CHECK(drawn.find("stackscope.Stack of <Task pending name='first'>") != std::string::npos);
    CHECK(drawn.find("stackscope.Stack of <Task pending name='awaiter'>") != std::string::npos);
}

TEST_CASE("task trees: a target without asyncio says so", "[format]") {
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.tasks_asked = true;
    const std::string text = format_snapshot_tree(snap, TreeOptions{});
    CHECK(text == "\nno event loops\n");
}

TEST_CASE("task lists in the flat format: each task a traceback naming its awaiters", "[format]") {
    const std::string text = format_snapshot_flat(sample(), FlatOptions{});
    CHECK(text.find("Traceback of <Task pending name='main'> (most recent call last):\n") != std::string::npos);
    CHECK(text.find("Traceback of <Task pending name='child'> (awaited by 'main') (most recent call last):\n") !=
          std::string::npos);
    CHECK(text.find("Traceback of <Task pending name='shared'> (awaited by 'child', 'other') (most recent call "
                    "last):\n  File \"/srv/app.py\", line 2, in leaf\n") != std::string::npos);
    CHECK(text.find("Traceback of <Task pending name='pong'> (awaited by 'ping')") != std::string::npos);
}

TEST_CASE("full_awaiter: the lowest-id awaiter among those listed, 0 for a root") {
    const Task t = task(0x300, "shared", {}, {{0x500, 0}, {0x200, 0}, {0x400, 0x900}});
    const auto all = [](uint64_t) { return true; };
    CHECK(full_awaiter(t, all) == 0x200);
    // An awaiter that is not listed (finished, or on no list read) does not count.
    CHECK(full_awaiter(t, [](uint64_t id) { return id != 0x200; }) == 0x400);
    CHECK(full_awaiter(t, [](uint64_t) { return false; }) == 0);
    CHECK(full_awaiter(task(0x100, "main", {}, {}), all) == 0);
}

namespace {

// `a` and `b` await each other and `b` awaits `c`, whose id is the lowest: no root leads to
// any of them.
std::vector<Task> cycle_awaiting_a_task() {
    Task c = task(0x100, "c", {frame("c", 3, "await asyncio.sleep(9)")}, {{0x300, 0}});
    Task a = task(0x200, "a", {frame("a", 4, "await b")}, {{0x300, 0}});
    Task b = task(0x300, "b", {frame("b", 5, "await asyncio.gather(a, c)")}, {{0x200, 0}});
    a.cycle = b.cycle = true;
    return {c, a, b};
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("task order: a task no root leads to comes after its full awaiter, a cycle from where it is met") {
    Snapshot snap;
    TasksRead read;
    read.task_runs.push_back(cycle_awaiting_a_task());
    finish_tasks(snap, read);
    std::vector<std::string> names;
    for (const Task& t : snap.tasks) names.push_back(t.name);
    // c's full awaiter is b; b's is a, a's is b: the cycle is entered at b, met first from c;
    // b's children by id.
    CHECK(names == std::vector<std::string>{"b", "c", "a"});
}

TEST_CASE("task trees: a task awaited by a cycle is drawn once, under its awaiter on the cycle", "[format]") {
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.tasks_asked = true;
    TasksRead read;
    read.task_runs.push_back(cycle_awaiting_a_task());
    finish_tasks(snap, read);
    const std::string expected =
        "\n"
        "Event loop 0x7000 on thread 11: 3 tasks\n"
        "stackscope.Stack of <Task pending name='b'> (on a cycle of awaits) (most recent call last):\n"
        "╠ b in __main__ at /srv/app.py:5\n"
        "║ ├ await asyncio.gather(a, c)  # awaits 2 tasks\n"
        "║ │   \n"
        "║ ├── <Task pending name='c'>\n"
        "║ │   ╠ c in __main__ at /srv/app.py:3\n"
        "║ │   ║ └ await asyncio.sleep(9)\n"
        "║ │   \n"
        "║ ├── <Task pending name='a'>\n"
        "║ │   ╠ a in __main__ at /srv/app.py:4\n"
        "║ │   ║ ├ await b  # awaits 1 task\n"
        "║ │   ║ ├── <Task pending name='b'> (awaits itself through the tasks above: a cycle)\n"
        "║ │   ║ └ await b\n"
        "║ │   \n"
        "║ └ await asyncio.gather(a, c)\n";
    CHECK(format_snapshot_tree(snap, TreeOptions{}) == expected);
    // The same whether the frames are copied or taken (a task drawn twice had none left).
    CHECK(joined(format_snapshot_tree_taking_task_stacks(snap, TreeOptions{})) == expected);
    // Whatever order the tasks come in.
    Snapshot unordered = snap;
    unordered.tasks = cycle_awaiting_a_task();
    const std::string text = joined(format_snapshot_tree_taking_task_stacks(unordered, TreeOptions{}));
    CHECK(count(text, "name='c'") == 1);
    CHECK(count(text, "c in __main__") == 1);
    CHECK(count(text, "b in __main__") == 1);
    CHECK(count(text, "a in __main__") == 1);
}

TEST_CASE("task trees: a chain nested deeper than the text draws goes on as a root that says so", "[format]") {
    constexpr int kTasks = 600;
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.tasks_asked = true;
    for (int i = 0; i < kTasks; ++i) {
        std::vector<TaskAwaiter> awaited_by;
        if (i) awaited_by.push_back({static_cast<uint64_t>(0x1000 + i - 1), 0});
        snap.tasks.push_back(task(0x1000 + i, "t" + std::to_string(i), {frame("f" + std::to_string(i), i, "await x")},
                                  std::move(awaited_by)));
    }
    const std::string text = joined(format_snapshot_tree_taking_task_stacks(snap, TreeOptions{}));
    for (int i = 0; i < kTasks; ++i) CHECK(count(text, " f" + std::to_string(i) + " in __main__") == 1);
    // Each root but the first starts where the one before could draw no deeper.
    CHECK(count(text, "(nested too deep: shown as a root below)") == 2);
    CHECK(count(text, "stackscope.Stack of ") == 3);
    CHECK(count(text, "stackscope.Stack of <Task pending name='t256'> (awaited by 't255') (most recent") == 1);
    CHECK(count(text, "stackscope.Stack of <Task pending name='t512'> (awaited by 't511') (most recent") == 1);
    CHECK(count(text, "<Task pending name='t256'> (nested too deep: shown as a root below)") == 1);
}
