#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "stackscope/formatters.hpp"

using namespace stackscope;

namespace {

Snapshot sample() {
    Snapshot snap;
    snap.python_version = "3.12.1";
    snap.pid = 42;
    Thread t;
    t.tid = 4321;
    t.pthread_id = 0x7f00;
    t.name = "worker-1";
    t.holds_gil = true;
    Frame boot;
    boot.function = boot.name = "_bootstrap";
    boot.module = "threading";
    boot.filename = "/usr/lib/python3.12/threading.py";
    boot.line = 1030;
    boot.hidden = true;
    boot.entry = true;
    Frame run;
    run.function = "Worker.run_it";
    run.name = "run_it";
    run.module = "__main__";
    run.filename = "/srv/app.py";
    run.line = 17;
    run.source = "descend(n, tag)";
    Frame leaf;
    leaf.function = leaf.name = "descend";
    leaf.filename = "/srv/app.py";
    leaf.line = 9;
    t.stack.frames = {boot, run, leaf};
    snap.threads.push_back(t);
    Thread broken;
    broken.tid = 4322;
    broken.stack.error =
        stackscope::ExtractionError{stackscope::ErrorKind::UnreadableMemory, "cannot read 8 bytes at 0x10", 0x10};
    snap.threads.push_back(broken);
    return snap;
}

}  // namespace

TEST_CASE("tree output: upstream's frame lines, hidden frames, errors", "[format]") {
    const std::string text = format_snapshot_tree(sample(), TreeOptions{});
    CHECK(text ==
          "Thread 4321 \"worker-1\" (holds the GIL):\n"
          "stackscope.Stack (most recent call last):\n"
          "╠ Worker.run_it in __main__ at /srv/app.py:17\n"
          "║ └ descend(n, tag)\n"
          "╠ descend in unknown module at /srv/app.py:9\n"
          "\n"
          "Thread 4322:\n"
          "stackscope.Stack (most recent call last):\n"
          "  Error while extracting stack:\n"
          "    cannot read 8 bytes at 0x10\n");
}

TEST_CASE("tree output: ASCII variant and --show-hidden", "[format]") {
    const std::string text = format_snapshot_tree(sample(), TreeOptions{true, true});
    CHECK_THAT(text, Catch::Contains("+ _bootstrap in threading at /usr/lib/python3.12/threading.py:1030\n"
                                     "+ Worker.run_it in __main__ at /srv/app.py:17\n"
                                     "| ` descend(n, tag)\n"));
    CHECK(text.find("╠") == std::string::npos);
}

TEST_CASE("tree output escapes control characters from the target", "[format]") {
    Thread t;
    t.tid = 1;
    t.name = "evil\n╠ fake\x1b[31m\xc2\x9b";
    const std::string header = format_thread_header(t);
    CHECK(header == "Thread 1 \"evil\\x0a╠ fake\\x1b[31m\\u009b\":");
}

TEST_CASE("JSON output follows schema v1", "[format]") {
    const auto doc = nlohmann::json::parse(format_snapshot_json(sample()));
    CHECK(doc["schema_version"] == 1);
    CHECK(doc["python_version"] == "3.12.1");
    CHECK(doc["pid"] == 42);
    REQUIRE(doc["threads"].size() == 2);
    const auto& t = doc["threads"][0];
    CHECK(t["tid"] == 4321);
    CHECK(t["pthread_id"] == 0x7f00);
    CHECK(t["name"] == "worker-1");
    CHECK(t["holds_gil"] == true);
    CHECK(t["error"].is_null());
    REQUIRE(t["frames"].size() == 3);
    CHECK(t["frames"][0]["hidden"] == true);  // hidden frames stay in JSON
    CHECK(t["frames"][0]["entry"] == true);
    CHECK(t["frames"][1]["function"] == "Worker.run_it");
    CHECK(t["frames"][1]["name"] == "run_it");
    CHECK(t["frames"][1]["source"] == "descend(n, tag)");
    CHECK(t["frames"][2]["module"].is_null());
    CHECK(doc["threads"][1]["name"].is_null());
    CHECK(doc["threads"][1]["error"] == "cannot read 8 bytes at 0x10");
}

TEST_CASE("flat output: a traceback per thread", "[format]") {
    CHECK(format_snapshot_flat(sample(), {}) ==
          "Thread 4321 \"worker-1\" (holds the GIL):\n"
          "Traceback (most recent call last):\n"
          "  File \"/srv/app.py\", line 17, in Worker.run_it\n"
          "    descend(n, tag)\n"
          "  File \"/srv/app.py\", line 9, in descend\n"
          "\n"
          "Thread 4322:\n"
          "Traceback (most recent call last):\n"
          "  Error while extracting stack: cannot read 8 bytes at 0x10\n");
    const std::string shown = format_snapshot_flat(sample(), {.show_hidden = true});
    CHECK(shown.find("  File \"/usr/lib/python3.12/threading.py\", line 1030, in _bootstrap\n") != std::string::npos);
}

TEST_CASE("flat output: unknown lines and control characters", "[format]") {
    Stack stack;
    Frame f;
    f.function = "evil\x1b[2J";
    f.filename = "/tmp/a\nb.py";
    stack.frames = {f};
    CHECK(format_stack_flat(stack, {}) ==
          "Traceback (most recent call last):\n"
          "  File \"/tmp/a\\x0ab.py\", line ?, in evil\\x1b[2J\n");
}

TEST_CASE("thread headers name a subinterpreter", "[format]") {
    Thread t;
    t.tid = 7;
    t.name = "sub-main";
    t.interpreter_id = 2;
    CHECK(format_thread_header(t) == "Thread 7 \"sub-main\" (interpreter 2):");
    t.interpreter_id = 0;
    CHECK(format_thread_header(t) == "Thread 7 \"sub-main\":");
}

TEST_CASE("thread details for debugger front-ends", "[format]") {
    const Snapshot snap = sample();
    CHECK(format_thread_details(snap.threads[0]) == " \"worker-1\" (holds the GIL)");
    CHECK(format_thread_details(snap.threads[1]).empty());
}

TEST_CASE("JSON names the debugger's thread only when a front-end set it", "[format]") {
    Snapshot snap = sample();
    CHECK_FALSE(nlohmann::json::parse(format_snapshot_json(snap))["threads"][0].contains("debugger_thread"));
    snap.threads[0].debugger_thread = 3;
    CHECK(nlohmann::json::parse(format_snapshot_json(snap))["threads"][0]["debugger_thread"] == 3);
}

TEST_CASE("a stack with the debugger's native frames interleaved", "[format][eval_calls]") {
    Stack stack;
    Frame outer;
    outer.function = outer.name = "main";
    outer.filename = "/app.py";
    outer.line = 3;
    outer.entry = true;
    outer.eval_stack_address = 0x1500;
    Frame inner = outer;
    inner.function = inner.name = "work";
    inner.line = 7;
    inner.entry = false;
    inner.eval_stack_address = 0;
    stack.frames = {outer, inner};
    std::vector<NativeLine> natives = {
        {"sem_wait in libc.so.6", {"sem_wait", 0x1000, 0x1100}},
        {"_PyEval_EvalFrameDefault at ceval.c:1", {"_PyEval_EvalFrameDefault", 0x1100, 0x1800}},
        {"main in python3", {"main", 0x1800, 0x2000}},
    };
    CHECK(format_stack_with_natives(stack, natives, {{}, "gdb"}) ==
          "stackscope.Stack with native frames (most recent call last):\n"
          "╠ [native] main in python3\n"
          "╠ [native] _PyEval_EvalFrameDefault at ceval.c:1\n"
          "╠ main in unknown module at /app.py:3\n"
          "╠ work in unknown module at /app.py:7\n"
          "╠ [native] sem_wait in libc.so.6\n");
    natives[1].frame.symbol = "";  // neither a stack range nor a symbol: not placed
    natives[1].frame.stack_low = natives[1].frame.stack_high = 0;
    stack.error = stackscope::ExtractionError{stackscope::ErrorKind::InconsistentData, "cut", std::nullopt};
    CHECK(format_stack_with_natives(stack, natives, {{true, false}, "lldb"}) ==
          "stackscope.Stack with native frames (most recent call last):\n"
          "  (Python frames not placed: lldb's backtrace names 0 eval-loop frames for 1 eval-loop calls)\n"
          "+ main in unknown module at /app.py:3\n"
          "+ work in unknown module at /app.py:7\n"
          "+ [native] main in python3\n"
          "+ [native] _PyEval_EvalFrameDefault at ceval.c:1\n"
          "+ [native] sem_wait in libc.so.6\n"
          "  Error while extracting stack:\n"
          "    cut\n");
}

TEST_CASE("a core's process header names the crashed thread, or says it runs no Python code", "[formatters]") {
    Snapshot snap = sample();
    CHECK(format_snapshot_tree(snap, TreeOptions{}).rfind("Thread 4321", 0) == 0);  // live: no header
    ProcessInfo process;
    process.pid = 42;
    process.command_line = "python3 app.py";
    snap.process = process;
    CHECK(format_snapshot_flat(snap, {}).rfind("Process 42: python3 app.py\n\nThread 4321", 0) == 0);

    FatalSignal segv{4321, 11, 1, 0x10, std::nullopt};
    snap.process->fatal_signal = segv;
    snap.threads[0].crash = segv;
    const std::string tree = format_snapshot_tree(snap, TreeOptions{});
    CHECK(tree.rfind("Process 42: python3 app.py\n"
                     "Killed by SIGSEGV at 0x10 (address not mapped) in thread 4321\n\n"
                     "Thread 4321 \"worker-1\" (holds the GIL) (crashed: SIGSEGV at 0x10):\n",
                     0) == 0);
    const auto json = nlohmann::json::parse(format_snapshot_json(snap));
    CHECK(json["process"]["fatal_signal"]["address"] == 0x10);
    CHECK(json["threads"][0]["crash"]["name"] == "SIGSEGV");
    CHECK_FALSE(json["threads"][1].contains("crash"));

    snap.threads[0].crash.reset();
    CHECK(format_snapshot_tree(snap, TreeOptions{}).find("in thread 4321, which runs no Python code\n") !=
          std::string::npos);
}

TEST_CASE("thread headers say what the thread is doing", "[format]") {
    Thread t;
    t.tid = 9;
    t.name = "w";
    CHECK(format_thread_header(t) == "Thread 9 \"w\":");  // the target did not say
    t.activity = ThreadActivity::Running;
    t.holds_gil = true;
    CHECK(format_thread_header(t) == "Thread 9 \"w\" (holds the GIL) (running):");
    t.holds_gil = false;
    t.activity = ThreadActivity::Idle;
    t.syscall = "clock_nanosleep";
    CHECK(format_thread_header(t) == "Thread 9 \"w\" (idle in clock_nanosleep):");
    t.activity = ThreadActivity::WaitingForGil;
    t.syscall = "futex";
    CHECK(format_thread_header(t) == "Thread 9 \"w\" (waiting for the GIL):");
    t.activity = ThreadActivity::Idle;
    t.in_gc = true;
    t.finalizing = true;
    t.handling = HandledException{"ValueError", "boom"};
    CHECK(format_thread_details(t) ==
          " \"w\" (idle in futex) (in garbage collection) (finalizing the interpreter) (handling ValueError: boom)");
    t.in_gc = t.finalizing = false;
    t.handling = HandledException{"Outer.Error", std::nullopt};
    CHECK(format_thread_details(t) == " \"w\" (idle in futex) (handling Outer.Error)");
    t.handling = HandledException{"KeyError", ""};
    CHECK(format_thread_details(t) == " \"w\" (idle in futex) (handling KeyError)");
    t.handling = HandledException{"E\x1b[2J", "line\nbreak"};
    CHECK(format_thread_details(t) == " \"w\" (idle in futex) (handling E\\x1b[2J: line\\x0abreak)");
}

TEST_CASE("JSON carries the thread's activity and handled exception", "[format]") {
    Snapshot snap = sample();
    auto doc = nlohmann::json::parse(format_snapshot_json(snap));
    const auto& unknown = doc["threads"][0];
    CHECK(unknown["activity"].is_null());
    CHECK(unknown["syscall"].is_null());
    CHECK(unknown["in_gc"] == false);
    CHECK(unknown["finalizing"] == false);
    CHECK(unknown["handling"].is_null());
    Thread& t = snap.threads[0];
    t.activity = ThreadActivity::WaitingForGil;
    t.syscall = "futex";
    t.in_gc = true;
    t.finalizing = true;
    t.handling = HandledException{"ValueError", std::nullopt};
    snap.threads[1].activity = ThreadActivity::Idle;
    snap.threads[1].syscall = "read";
    snap.threads[1].handling = HandledException{"OSError", "boom"};
    doc = nlohmann::json::parse(format_snapshot_json(snap));
    CHECK(doc["threads"][0]["activity"] == "waiting_for_gil");
    CHECK(doc["threads"][0]["syscall"] == "futex");
    CHECK(doc["threads"][0]["in_gc"] == true);
    CHECK(doc["threads"][0]["finalizing"] == true);
    CHECK(doc["threads"][0]["handling"] == nlohmann::json{{"type", "ValueError"}, {"message", nullptr}});
    CHECK(doc["threads"][1]["activity"] == "idle");
    CHECK(doc["threads"][1]["handling"]["message"] == "boom");
    snap.threads[1].activity = ThreadActivity::Running;
    CHECK(nlohmann::json::parse(format_snapshot_json(snap))["threads"][1]["activity"] == "running");
}

namespace {

// A thread whose frames have variables (--locals): one with an argument, a local and a with
// block; one whose variables could not be read; one not read.
Snapshot with_locals() {
    Snapshot snap = sample();
    snap.threads.resize(1);
    std::vector<Frame>& frames = snap.threads[0].stack.frames;
    frames[1].locals = std::vector<Local>{{"self", LocalKind::Arg, "<__main__.Worker object at 0x7f00>"},
                                          {"n", LocalKind::Local, "3"},
                                          {"bad\x1b[31m", LocalKind::Cell, "'\x07'"},
                                          {"tag", LocalKind::Free, "'x'"}};
    Context lock;
    lock.type_name = "lock";
    lock.varname = "held";
    lock.start_line = 16;
    lock.source = "with self.lock as held:";
    frames[1].contexts = {lock};
    frames[2].locals.emplace();
    frames[2].locals_error = "cannot read 8 bytes at 0x10";
    return snap;
}

}  // namespace

TEST_CASE("locals: a `name = repr` line each under the frame line, before its contexts and source", "[format]") {
    CHECK(format_snapshot_tree(with_locals(), TreeOptions{}) ==
          "Thread 4321 \"worker-1\" (holds the GIL):\n"
          "stackscope.Stack (most recent call last):\n"
          "╠ Worker.run_it in __main__ at /srv/app.py:17\n"
          "║   self = <__main__.Worker object at 0x7f00>\n"
          "║   n = 3\n"
          "║   bad\\x1b[31m = '\\x07'\n"
          "║   tag = 'x'\n"
          "║ ├ with self.lock as held:  # held: lock (line 16)\n"
          "║ └ descend(n, tag)\n"
          "╠ descend in unknown module at /srv/app.py:9\n"
          "║   (locals unreadable: cannot read 8 bytes at 0x10)\n");
    const std::string ascii = format_snapshot_tree(with_locals(), TreeOptions{.ascii = true});
    CHECK(ascii.find("|   n = 3\n") != std::string::npos);
    const std::string colored = format_snapshot_tree(with_locals(), TreeOptions{.color = true});
    CHECK(colored.find("║   \x1b[35mn\x1b[0m = 3\n") != std::string::npos);
}

TEST_CASE("locals: flat lists them after the frame's entry as traceback's capture_locals does", "[format]") {
    CHECK(format_snapshot_flat(with_locals(), FlatOptions{}) ==
          "Thread 4321 \"worker-1\" (holds the GIL):\n"
          "Traceback (most recent call last):\n"
          "  File \"/srv/app.py\", line 16, in Worker.run_it (held: lock)\n"
          "    with self.lock as held:\n"
          "  File \"/srv/app.py\", line 17, in Worker.run_it\n"
          "    descend(n, tag)\n"
          "    self = <__main__.Worker object at 0x7f00>\n"
          "    n = 3\n"
          "    bad\\x1b[31m = '\\x07'\n"
          "    tag = 'x'\n"
          "  File \"/srv/app.py\", line 9, in descend\n"
          "    (locals unreadable: cannot read 8 bytes at 0x10)\n");
}

TEST_CASE("locals: JSON gives name and kind and repr or null when not read and without_locals drops them", "[format]") {
    const auto doc = nlohmann::json::parse(format_snapshot_json(with_locals()));
    const auto& frames = doc["threads"][0]["frames"];
    CHECK(frames[0]["locals"].is_null());
    CHECK(frames[0]["locals_error"].is_null());
    CHECK(frames[1]["locals"] == nlohmann::json::parse(R"([
        {"name": "self", "kind": "arg", "repr": "<__main__.Worker object at 0x7f00>"},
        {"name": "n", "kind": "local", "repr": "3"},
        {"name": "bad\u001b[31m", "kind": "cell", "repr": "'\u0007'"},
        {"name": "tag", "kind": "free", "repr": "'x'"}])"));
    CHECK(frames[2]["locals"] == nlohmann::json::array());
    CHECK(frames[2]["locals_error"] == "cannot read 8 bytes at 0x10");
    const Snapshot stripped = without_locals(with_locals());
    for (const Frame& f : stripped.threads[0].stack.frames) {
        CHECK_FALSE(f.locals);
        CHECK_FALSE(f.locals_error);
    }
    CHECK(format_snapshot_tree(stripped, TreeOptions{}).find("║   ") == std::string::npos);
}
