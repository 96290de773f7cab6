// The text the debugger front-ends print after their threads for `tasks` (the CLI's --tasks
// text below its threads), the snapshot without its tasks, and how a command's text and
// warnings are composed (stackscope/debugger.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "stackscope/debugger.hpp"
#include "stackscope/formatters.hpp"

using namespace stackscope;

namespace {

Thread thread(int tid, const char* name, int frames) {
    Thread t;
    t.tid = tid;
    t.name = name;
    for (int i = 0; i < frames; ++i) {
        Frame f;
        f.function = f.name = "f" + std::to_string(i);
        f.module = "app";
        f.filename = "/srv/app.py";
        f.line = 10 + i;
        f.source = "await g()";
        t.stack.frames.push_back(f);
    }
    return t;
}

Task task(uint64_t id, const char* name, uint64_t loop) {
    Task t;
    t.id = id;
    t.name = name;
    t.loop = loop;
    t.loop_thread = 2;
    t.stack.root.kind = StackRootKind::Task;
    t.stack.root.address = id;
    t.stack.root.description = std::string("<Task pending name='") + name + "' coro=<f0() running at /srv/app.py:10>>";
    Frame f;
    f.function = f.name = "f0";
    f.filename = "/srv/app.py";
    f.line = 10;
    t.stack.frames.push_back(f);
    t.stack.leaf = StackLeaf{0x30, "Future", "<Future pending>"};
    return t;
}

// Two threads (one running its loop), two tasks on that loop, the second awaited by the first.
Snapshot with_tasks() {
    Snapshot s;
    s.python_version = "3.12.1";
    s.threads = {thread(1, "MainThread", 2), thread(2, "loop", 3)};
    s.threads[1].running_loop = 0x100;
    s.tasks_asked = true;
    s.tasks = {task(0x10, "parent", 0x100), task(0x20, "child", 0x100)};
    s.tasks[1].awaited_by = {TaskAwaiter{0x10, 0}};
    return s;
}

size_t lines(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

}  // namespace

TEST_CASE("without_tasks: no task list, no thread's running loop or task, the stacks kept", "[debugger][tasks]") {
    Snapshot s = with_tasks();
    s.threads[1].running_task = 0x10;
    s.tasks_error = ExtractionError{ErrorKind::InconsistentData, "changed", std::nullopt};
    const Snapshot stripped = without_tasks(s);
    CHECK_FALSE(stripped.tasks_asked);
    CHECK(stripped.tasks.empty());
    CHECK_FALSE(stripped.tasks_error);
    CHECK_FALSE(stripped.partial());
    for (const Thread& t : stripped.threads) {
        CHECK_FALSE(t.running_loop);
        CHECK_FALSE(t.running_task);
    }
    CHECK(stripped.threads[1].stack.frames.size() == 3);
    CHECK(format_snapshot_json(stripped) == format_snapshot_json(without_tasks(stripped)));
    CHECK(format_snapshot_json(stripped).find("running_task") == std::string::npos);
}

TEST_CASE("a snapshot read without tasks has no task text", "[debugger][tasks]") {
    const Snapshot s = without_tasks(with_tasks());
    CHECK(format_debugger_tasks_tree(s, {}) == "");
    CHECK(format_debugger_tasks_flat(s, {}) == "");
}

TEST_CASE("the threads' text and the task text are the CLI's text, in that order", "[debugger][tasks]") {
    Snapshot s = with_tasks();
    s.process = ProcessInfo{};
    s.process->pid = 42;
    s.process->command_line = "python3 app.py";
    for (const bool ascii : {false, true}) {
        const TreeOptions options{ascii, false, false};
        const std::string tasks = format_debugger_tasks_tree(s, options);
        CHECK(format_snapshot_tree(without_tasks(s), options) + tasks == format_snapshot_tree(s, options));
        CHECK(tasks.find("Thread ") == std::string::npos);  // no thread's header, nor its frames
        CHECK(tasks.find("f2 in app") == std::string::npos);
    }
    const std::string tree = format_debugger_tasks_tree(s, {});
    CHECK(tree.find("Event loop 0x100") != std::string::npos);
    CHECK(tree.find("name='parent'") != std::string::npos);
    CHECK(tree.find("name='child'") != std::string::npos);
    const std::string flat = format_debugger_tasks_flat(s, {});
    CHECK(format_snapshot_flat(without_tasks(s), {}) + flat == format_snapshot_flat(s, {}));
    CHECK(lines(format_snapshot_tree(s, {})) >= lines(format_snapshot_tree(without_tasks(s), {})));
}

TEST_CASE("a debugger's thread header names the task its loop runs, as the CLI's does", "[debugger][tasks]") {
    Snapshot s = with_tasks();
    s.threads[1].running_task = 0x10;
    CHECK(with_running_task("thread #2 (tid 2) \"loop\":", s, s.threads[1]) ==
          "thread #2 (tid 2) \"loop\" (running task 'parent'):");
    CHECK(with_running_task("thread #1 (tid 1):", s, s.threads[0]) == "thread #1 (tid 1):");
    s.threads[1].running_task = 0x99;  // not in the list: named by its address
    CHECK(with_running_task("T:", s, s.threads[1]) == "T (running task at 0x99):");
    // The CLI's header says the same after its own thread id.
    s.threads[1].running_task = 0x10;
    CHECK(format_snapshot_tree(s, {}).find("\"loop\" (running task 'parent'):") != std::string::npos);
}

TEST_CASE("a debugger command's text is its blocks, then the tasks' and the locks' text", "[debugger][tasks]") {
    const Snapshot s = with_tasks();
    const std::vector<std::string> blocks{"Thread 1:\nA\n", "Thread 2:\nB\n"};
    const std::string threads = "Thread 1:\nA\n\nThread 2:\nB\n";
    const TreeOptions ascii{true, false, false};
    CHECK(compose_debugger_text(s, blocks, false, ascii) ==
          threads + format_debugger_tasks_tree(s, ascii) + format_debugger_locks(s, false));
    CHECK(compose_debugger_text(s, blocks, true, {}) == threads + format_debugger_tasks_flat(s, {}));
    CHECK(compose_debugger_text(without_tasks(s), blocks, false, {}) == threads);
    CHECK(compose_debugger_text(without_tasks(s), {}, false, {}) == "");
}

TEST_CASE("a debugger command warns where the CLI exits 1, and of the threads it shows", "[debugger][tasks]") {
    using Warnings = std::vector<std::string>;
    const std::string threads_or_tasks = "some threads or tasks could not be read completely (see their errors)";
    Snapshot s = with_tasks();
    CHECK(debugger_warnings(s) == Warnings{});
    s.threads[0].stack.error = ExtractionError{ErrorKind::UnreadableMemory, "at 0x10", 0x10};
    CHECK(debugger_warnings(s) == Warnings{threads_or_tasks});
    CHECK(debugger_warnings(s, std::vector<size_t>{0}) == Warnings{threads_or_tasks});
    CHECK(debugger_warnings(s, std::vector<size_t>{1}) == Warnings{});  // not shown
    CHECK(debugger_warnings(without_tasks(s)) ==
          Warnings{"some threads could not be read completely (see their errors)"});
    s.threads[0].stack.error.reset();
    s.tasks_error = ExtractionError{ErrorKind::InconsistentData, "changed", std::nullopt};
    CHECK(debugger_warnings(s, std::vector<size_t>{}) == Warnings{threads_or_tasks});

    Snapshot none;  // no Python thread: a warning, as lldb's; the output stands
    CHECK(debugger_warnings(none) == Warnings{"the interpreter has no threads"});
    Snapshot objects;
    objects.objects_asked = true;
    CHECK(debugger_warnings(objects) == Warnings{});  // objects, not threads, were asked for
    objects.objects.emplace_back();
    objects.objects[0].stack.error = ExtractionError{ErrorKind::BadInput, "not an object", 0x20};
    CHECK(debugger_warnings(objects) == Warnings{"some objects could not be read completely (see their errors)"});
}
