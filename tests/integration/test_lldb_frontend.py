"""The LLDB front-end (`plugin load build/lldb/libstackscope_lldb.so`, `stackscope ...`).

Per interpreter and mode, one lldb-16 in batch mode on the shared scenario: live
(`process attach -p PID`, detached at the end and checked to be left running and
untraced) and from its gcore core (`target create EXE --core CORE`). Every command runs in
that one session (lldb_frontend.py) and is compared with the CLI in the same mode:

- `stackscope all-threads --json` equals the CLI's JSON plus `debugger_thread`, lldb's index
  id of each thread's tid; live also when read through LLDB's SB API instead of directly
  (STACKSCOPE_LLDB_READS=lldb; cores are always read through it);
- the text (tree, --flat, --ascii, --show-hidden) equals the CLI's once the thread header
  lines are removed, and each header is the CLI's with `thread #N (tid T)` for `Thread T`;
- `stackscope thread N` and `stackscope thread` (the selected thread) print only that thread;
- `--native` lists lldb's frames outermost first, each eval-loop call's Python frames
  (the CLI JSON's, grouped by their `entry` flags) right after its eval-loop frame (found by
  the stack address the core records for the call, else by symbol); where neither works they
  are listed unplaced, under a note that says so.

`stackscope object ADDR...` (issue 13), per interpreter, live and from a core, on its own
scenario (scenarios/frontend_objects.py: a `yield from` chain, a coroutine awaiting a
coroutine awaiting a Future, a coroutine not started, the Future, a dict, and upstream's README
example, whose contexts hold inner stacks and ExitStack children): its JSON equals
the CLI's `--object` JSON (hex, decimal, an expression lldb evaluates, read through the SB
API), its text the CLI's below the process header; the dict gets the CLI's error with a
warning, and an ADDR that is no address fails like an lldb command.

`stackscope tasks` (issue 16), per interpreter, live and from a core, on its own scenario
(scenarios/frontend_tasks.py: a few named tasks on one loop, a gather, a TaskGroup from 3.11):
its JSON equals the CLI's `--tasks` JSON (which must list the scenario's tasks by name, id and
loop), also through the SB API; its text the CLI's `--tasks` text once thread headers are
compared as above.

Without an interpreter: help texts, LLDB-style errors for bad arguments (failed status, lldb
keeps running), and one error line for a process that is not Python.

All tests are in the matrix column "lldb". The plugin is $STACKSCOPE_LLDB_PLUGIN, else
build/lldb/libstackscope_lldb.so.
"""
import copy
import json
import re
import subprocess

import pytest

from harness import (ScenarioProcess, clean_env, describe, kill_group, make_core, run_tool, spawn,
                     wait_until_all_sleeping, without_process, without_process_header)
from lldb_frontend import (HEADER_CLI, HEADER_LLDB, PLUGIN_ENV, Command, find_lldb, plugin_path, quote, run_lldb,
                           split_headers, thread_blocks)

pytestmark = pytest.mark.column("lldb")

THREAD = "event-waiter"  # the thread `stackscope thread N` is asked for
OPTIONS = ["--format", "--flat", "--json", "--ascii", "--color", "--show-hidden", "--no-contexts", "--locals",
           "--native"]


@pytest.fixture(scope="session")
def lldb():
    path = find_lldb()
    if path is None:
        pytest.skip("!!! LLDB MISSING: no lldb-16 on PATH (scripts/install-deps.sh installs it)")
    return path


@pytest.fixture(scope="session")
def lldb_plugin():
    path = plugin_path()
    if not path.is_file():
        pytest.skip("!!! LLDB PLUGIN MISSING: %s is not a file (set $%s or build it)" % (path, PLUGIN_ENV))
    return path


@pytest.fixture(scope="session")
def lldb_sessions():
    return {}


def session_commands(truth):
    waiter = next(t for t in truth["threads"] if t["name"] == THREAD)["native_id"]
    return [
        Command("json", "stackscope all-threads --json"),
        Command("json-sbapi", "stackscope all-threads --json", {"STACKSCOPE_LLDB_READS": "lldb"}),
        Command("tree", "stackscope all-threads"),
        Command("flat", "stackscope all-threads --flat"),
        Command("ascii", "stackscope all-threads --ascii"),
        Command("show-hidden", "stackscope all-threads --show-hidden"),
        Command("format-flat", "stackscope all-threads --format=flat --ascii"),
        Command("json-hidden", "stackscope all-threads --json --show-hidden"),
        Command("json-ascii", "stackscope all-threads --json --ascii"),
        Command("format-json", "stackscope all-threads --format json"),
        Command("no-contexts", "stackscope all-threads --no-contexts"),
        Command("json-no-contexts", "stackscope all-threads --json --no-contexts"),
        Command("locals", "stackscope all-threads --locals"),
        Command("json-locals", "stackscope all-threads --json --locals"),
        Command("thread", "stackscope thread {index_of_tid:%d}" % waiter),
        Command("thread-json", "stackscope thread {index_of_tid:%d} --json" % waiter),
        Command("selected", "stackscope thread"),
        Command("native", "stackscope all-threads --native"),
        Command("native-hidden", "stackscope all-threads --native --show-hidden"),
        Command("tasks", "stackscope tasks"),
        Command("tasks-json", "stackscope tasks --json"),
        Command("locks", "stackscope locks"),
        Command("locks-json", "stackscope locks --json"),
    ]


@pytest.fixture
def lldb_run(request, lldb_sessions, lldb, lldb_plugin, mode, scenario, python, truth):
    """The lldb session of this interpreter and mode (run once)."""
    key = (str(python), mode)
    if key not in lldb_sessions:
        if mode == "live":
            setup, live_pid = ["process attach -p %d" % scenario.pid], scenario.pid
        else:
            core = request.getfixturevalue("core_dump")
            setup, live_pid = ["target create %s --core %s" % (quote(python), quote(core))], None
        lldb_sessions[key] = run_lldb(lldb, lldb_plugin, scenario.workdir, mode, setup, session_commands(truth), live_pid)
    run = lldb_sessions[key]
    assert run.returncode == 0 and run.results, run.describe()
    return run


def with_debugger_threads(cli_json, run, mode):
    expected = copy.deepcopy(without_process(cli_json))
    for thread in expected["threads"]:
        if thread["tid"] in run.threads:
            thread["debugger_thread"] = run.threads[thread["tid"]]
    return expected


def test_json_equals_cli_plus_debugger_thread(lldb_run, snapshot, mode):
    got = json.loads(lldb_run.result("json"))
    assert [t.get("debugger_thread") for t in got["threads"]] == [lldb_run.threads.get(t["tid"]) for t in got["threads"]]
    assert None not in [t.get("debugger_thread") for t in got["threads"]]
    # what each thread was doing: from a core, its own notes' orig_rax (lldb's registers lack it)
    assert [t["syscall"] for t in got["threads"] if t["activity"] == "idle"] != [], got
    assert got == with_debugger_threads(snapshot, lldb_run, mode)


def test_json_through_lldb_reads_equals_cli(lldb_run, snapshot, mode):
    """The same through LLDB's SB API (SBProcess::ReadMemory, lldb's threads and modules)."""
    assert json.loads(lldb_run.result("json-sbapi")) == with_debugger_threads(snapshot, lldb_run, mode)


@pytest.mark.parametrize("key, cli_options", [
    ("tree", ("--format", "tree")),
    ("flat", ("--format", "flat")),
    ("ascii", ("--format", "tree", "--ascii")),
    ("show-hidden", ("--format", "tree", "--show-hidden")),
    ("format-flat", ("--flat", "--ascii")),
    ("no-contexts", ("--format", "tree", "--no-contexts")),
    ("locals", ("--format", "tree", "--locals")),
])
def test_text_equals_cli_but_headers(lldb_run, run_cached, tool, key, cli_options, mode):
    cli = run_cached(tool, *cli_options)
    assert cli.returncode == 0, cli.stderr
    cli_headers, cli_rest = split_headers(without_process_header(cli.stdout), HEADER_CLI)
    lldb_headers, lldb_rest = split_headers(lldb_run.result(key), HEADER_LLDB)
    assert lldb_rest == cli_rest
    expected = ["thread #%d (tid %s)%s:" % (lldb_run.threads[int(h.group(1))], h.group(1), h.group(2))
                for h in cli_headers]
    assert [h.group(0) for h in lldb_headers] == expected


@pytest.mark.parametrize("key, cli_options", [
    ("json-hidden", ("--format", "json", "--show-hidden")),
    ("json-ascii", ("--json", "--ascii")),
    ("format-json", ("--format", "json")),
    ("json-no-contexts", ("--json", "--no-contexts")),
    ("json-locals", ("--json", "--locals")),
])
def test_json_with_options_equals_cli(lldb_run, run_cached, tool, key, cli_options, mode):
    """Every combination the CLI accepts works in lldb, with the CLI's output: --json with
    --show-hidden or --ascii (which JSON ignores), --format json."""
    cli = run_cached(tool, *cli_options)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(lldb_run.result(key)) == with_debugger_threads(json.loads(cli.stdout), lldb_run, mode)


def test_locks_equals_cli(lldb_run, run_cached, tool, mode, truth):
    """`stackscope locks`: the CLI's --locks text once thread headers are set aside, and its JSON
    with debugger_thread; the CLI's names the lock-waiter's lock (taken by acquire(), no holder
    known) and the Condition the condition-waiter waits on, live and from a core (whose threads'
    futex addresses, rdi, come from the core's own notes, not lldb's registers)."""
    tids = {t["name"]: t["native_id"] for t in truth["threads"]}
    cli = run_cached(tool, "--locks")
    assert cli.returncode == 0, cli.stderr
    assert "\nLocks:\n" in cli.stdout, cli.stdout
    lines = split_headers(without_process_header(cli.stdout), HEADER_CLI)[1]
    assert split_headers(lldb_run.result("locks"), HEADER_LLDB)[1] == lines
    cli = run_cached(tool, "--locks", "--json")
    assert cli.returncode == 0, cli.stderr
    expected = with_debugger_threads(json.loads(cli.stdout), lldb_run, mode)
    waiters = {(l["type"], w["tid"]) for l in expected["locks"] for w in l["waiters"]}
    assert ("lock", tids["lock-waiter"]) in waiters and ("Condition", tids["condition-waiter"]) in waiters, waiters
    assert json.loads(lldb_run.result("locks-json")) == expected


def test_tasks_without_event_loops_equals_cli(lldb_run, run_cached, tool, mode):
    """`stackscope tasks` on a process without asyncio: the threads, then "no event loops"."""
    cli = run_cached(tool, "--tasks")
    assert cli.returncode == 0, cli.stderr
    assert "\nno event loops\n" in cli.stdout, cli.stdout
    assert split_headers(lldb_run.result("tasks"), HEADER_LLDB)[1] == split_headers(
        without_process_header(cli.stdout), HEADER_CLI)[1]
    cli = run_cached(tool, "--tasks", "--json")
    assert cli.returncode == 0, cli.stderr
    expected = with_debugger_threads(json.loads(cli.stdout), lldb_run, mode)
    assert expected["tasks"] == [] and expected["tasks_error"] is None, expected
    assert json.loads(lldb_run.result("tasks-json")) == expected


def without_trailing_blanks(lines):
    lines = list(lines)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_thread_prints_that_thread_only(lldb_run, truth):
    index = lldb_run.threads[next(t for t in truth["threads"] if t["name"] == THREAD)["native_id"]]
    all_threads = thread_blocks(lldb_run.result("tree"))
    one = thread_blocks(lldb_run.result("thread"))
    assert list(one) == [index]
    assert without_trailing_blanks(one[index]) == without_trailing_blanks(all_threads[index])


def test_thread_defaults_to_the_selected_thread(lldb_run):
    all_threads = thread_blocks(lldb_run.result("tree"))
    one = thread_blocks(lldb_run.result("selected"))
    assert list(one) == [lldb_run.selected]
    assert without_trailing_blanks(one[lldb_run.selected]) == without_trailing_blanks(all_threads[lldb_run.selected])


def test_thread_json(lldb_run, snapshot, truth, mode):
    tid = next(t for t in truth["threads"] if t["name"] == THREAD)["native_id"]
    expected = with_debugger_threads(snapshot, lldb_run, mode)
    expected["threads"] = [t for t in expected["threads"] if t["tid"] == tid]
    assert json.loads(lldb_run.result("thread-json")) == expected


NATIVE_HEADING = "stackscope.Stack with native frames (most recent call last):"
FRAME_LINE = re.compile(r"^╠ \[native\] frame #(\d+): 0x[0-9a-f]{16} (.*)$")
# A frame of the eval loop itself (not one inlined into it: those have no "+ offset").
EVAL_LOOP_FRAME = re.compile(r"^[^`]*`(_PyEval_EvalFrameDefault|_TAIL_CALL_\w+)(\.[\w.]+)? \+ \d+( |$)")
# What a stripped interpreter's eval loop may be called: a part of it without a symbol of its
# own (Debian's 3.14 and 3.15: the .cold part); placed there by its stack address, not its name.
UNNAMED_FRAME = re.compile(r"^[^`]*`___lldb_unnamed_symbol\d+ \+ \d+( |$)")
NOT_PLACED = "  (Python frames not placed: lldb's backtrace names %d eval-loop frames for %d eval-loop calls)"


def heading(frame):
    line = frame["line"] if frame["line"] is not None else "?"
    return "%s in %s at %s:%s" % (frame["function"], frame["module"] or "unknown module", frame["filename"], line)


def native_items(block):
    """[("native", number, text) | ("python", heading) | ("other", line)] of a --native thread block."""
    assert block[1] == NATIVE_HEADING, block[:3]
    items = []
    for line in block[2:]:
        frame = FRAME_LINE.match(line)
        if frame:
            items.append(("native", int(frame.group(1)), frame.group(2)))
        elif line.startswith("╠ "):
            items.append(("python", line[len("╠ "):]))
        elif line and not line.startswith(("║ └ ", "║ ├ ")):  # a frame's source line or its with-blocks
            items.append(("other", line))
    return items


def python_groups(items):
    """[(native frame text before the group, [python headings])]."""
    groups = []
    for before, item in zip([None] + items, items):
        if item[0] != "python":
            continue
        if before is None or before[0] != "python":
            groups.append((before[2] if before and before[0] == "native" else None, []))
        groups[-1][1].append(item[1])
    return groups


def entry_groups(frames):
    """Headings of the frames grouped by eval-loop call, outermost first: a group starts at an entry frame."""
    groups = []
    for frame in frames:
        if frame.get("entry") or not groups:
            groups.append([])
        groups[-1].append(heading(frame))
    return groups


@pytest.mark.parametrize("key, show_hidden", [("native-hidden", True), ("native", False)])
def test_native_interleaves_python_frames_at_eval_loop_frames(lldb_run, snapshot, interp, key, show_hidden):
    """Each eval-loop call's Python frames follow its native frame: found by the stack address
    the core records for the call (3.12+), else by the eval loop's symbol when lldb names as
    many eval-loop frames as there are calls. Otherwise (a stripped 3.11- interpreter, or a
    core without stack addresses) they are listed unplaced under a note, before the native
    frames. The pyenv builds carry symbols: they are always placed."""
    blocks = thread_blocks(lldb_run.result(key))
    problems = []
    for thread in snapshot["threads"]:
        label = "thread %s (tid %s)" % (thread["name"], thread["tid"])
        items = native_items(blocks[lldb_run.threads[thread["tid"]]])
        numbers = [item[1] for item in items if item[0] == "native"]
        frames = [f for f in thread["frames"] if show_hidden or not f["hidden"]]
        named_eval_frames = len([i for i in items if i[0] == "native" and EVAL_LOOP_FRAME.match(i[2])])
        calls = len(entry_groups(thread["frames"]))
        if not numbers or numbers != list(range(len(numbers) - 1, -1, -1)):
            problems.append("%s: lldb frame numbers %s" % (label, numbers))
        if [i[1] for i in items if i[0] == "python"] != [heading(f) for f in frames]:
            problems.append("%s: Python frames differ from the CLI's" % label)
        others = [i[1] for i in items if i[0] == "other"]
        if others:
            if others != [NOT_PLACED % (named_eval_frames, calls)] or items[0][0] != "other" or named_eval_frames == calls:
                problems.append("%s: %d named eval-loop frames, %d calls, but %s" % (label, named_eval_frames, calls, others))
            if interp.pyenv_version:
                problems.append("%s: not placed in a build with symbols (%d eval-loop frames, %d calls)" % (label, named_eval_frames, calls))
            continue
        groups = python_groups(items)
        for before, group in groups:
            by_name = before is not None and EVAL_LOOP_FRAME.match(before)
            if not by_name and (before is None or named_eval_frames == calls or not UNNAMED_FRAME.match(before)):
                problems.append("%s: %s follows %r, not an eval-loop frame" % (label, group[0], before))
        if show_hidden and [g for _, g in groups] != entry_groups(frames):
            problems.append("%s: groups %s, the entry flags say %s" % (label, [g for _, g in groups], entry_groups(frames)))
    assert problems == [], "\n".join(problems) + "\n" + lldb_run.result(key)[:4000]


@pytest.mark.parametrize("mode", ["live"])
def test_lldb_leaves_target_running_and_untraced(lldb_run, scenario):
    assert lldb_run.left_behind == [], "lldb left threads traced or stopped (SIGCONT sent):\n" + lldb_run.describe()
    assert scenario.ping(), "the scenario no longer runs Python code after lldb detached"
    wait_until_all_sleeping(scenario.pid)


# Objects: `stackscope object ADDR...` against the CLI's --object.

OBJECTS = ("generator", "coroutine", "not_started", "future", "elaborated")  # frontend_objects.py's, read without error
ERROR_OBJECT = "not_a_generator"  # a dict
OBJECT_WARNING = "warning: stackscope: some objects could not be read completely (see their errors)\n"


@pytest.fixture(scope="session")
def objects_scenario(python, interp, tmp_path_factory):
    target = ScenarioProcess(python, tmp_path_factory.mktemp("lldb-objects-%s-" % interp.label),
                             script="frontend_objects.py").start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def objects_core(objects_scenario):
    core = make_core(objects_scenario.pid, objects_scenario.workdir / "core")
    wait_until_all_sleeping(objects_scenario.pid)
    yield core
    core.unlink()


def object_ids(scenario, names=OBJECTS):
    return [scenario.truth["objects"][name] for name in names]


def object_commands(scenario):
    good = " ".join("0x%x" % address for address in object_ids(scenario))
    error = "0x%x" % scenario.truth["objects"][ERROR_OBJECT]
    return [
        Command("tree", "stackscope object " + good),
        Command("flat", "stackscope object --flat " + good),
        Command("ascii-hidden", "stackscope object %s --ascii --show-hidden" % good),
        Command("json", "stackscope object --json " + good),
        Command("json-sbapi", "stackscope object --json " + good, {"STACKSCOPE_LLDB_READS": "lldb"}),
        Command("decimal-json", "stackscope object --format json " + " ".join(map(str, object_ids(scenario)))),
        Command("expression-json", "stackscope object --json (long)%d" % scenario.truth["objects"]["coroutine"]),
        Command("error-tree", "stackscope object " + error),
        Command("error-json", "stackscope object --json " + error),
        Command("not-an-address", "stackscope object no_such_symbol_here"),
        Command("native", "stackscope object --native " + good),
        Command("none", "stackscope object --json"),
    ]


@pytest.fixture
def objects_run(lldb_sessions, lldb, lldb_plugin, mode, objects_scenario, python, request):
    """The lldb session on the objects scenario of this interpreter and mode (run once)."""
    key = ("objects", str(python), mode)
    if key not in lldb_sessions:
        if mode == "live":
            setup, live_pid = ["process attach -p %d" % objects_scenario.pid], objects_scenario.pid
        else:
            core = request.getfixturevalue("objects_core")
            setup, live_pid = ["target create %s --core %s" % (quote(python), quote(core))], None
        lldb_sessions[key] = run_lldb(lldb, lldb_plugin, objects_scenario.workdir, "objects-" + mode, setup,
                                      object_commands(objects_scenario), live_pid)
    run = lldb_sessions[key]
    assert run.returncode == 0 and run.results, run.describe()
    return run


@pytest.fixture(scope="session")
def object_cli_runs():
    return {}


@pytest.fixture
def object_cli(object_cli_runs, tool, mode, objects_scenario, python, request):
    """object_cli(names, *options): the CLI's --object output for those objects (cached)."""
    def run(names, *options):
        if mode == "live":
            wait_until_all_sleeping(objects_scenario.pid)
            target = ["pid", objects_scenario.pid]
        else:
            target = ["core", request.getfixturevalue("objects_core"), "--executable", python]
        key = (str(tool), mode, str(objects_scenario.pid), tuple(names)) + options
        if key not in object_cli_runs:
            arguments = list(target)
            for address in object_ids(objects_scenario, names):
                arguments += ["--object", "0x%x" % address]
            object_cli_runs[key] = run_tool(tool, arguments + list(options))
        return object_cli_runs[key]

    return run


def cli_object_json(object_cli, names=OBJECTS, exit_code=0):
    result = object_cli(names, "--format", "json")
    assert result.returncode == exit_code, describe(result)
    return without_process(json.loads(result.stdout))


def cli_object_text(object_cli, *options, names=OBJECTS, exit_code=0):
    result = object_cli(names, *options)
    assert result.returncode == exit_code, describe(result)
    return without_process_header(result.stdout)


def test_object_json_equals_cli(objects_run, object_cli):
    expected = cli_object_json(object_cli)
    assert [o["type"] for o in expected["objects"]] == ["generator", "coroutine", "coroutine", "Future", "generator"]
    # The README example's contexts hold an inner stack, whose ExitStack has children (issue 15).
    outer = expected["objects"][4]["frames"][1]["contexts"][0]
    inner = outer["inner_stack"]["frames"][0]["contexts"][0]["inner_stack"]["frames"][0]
    assert [c["varname"] for c in inner["contexts"][0]["children"]] == ["stack[0]", "stack[1]"]
    assert [o["error"] for o in expected["objects"]] == [None] * len(OBJECTS)
    assert json.loads(objects_run.result("json")) == expected


@pytest.mark.parametrize("key", ["json-sbapi", "decimal-json"])
def test_object_json_in_decimal_and_through_lldb_reads_equals_cli(objects_run, object_cli, key):
    assert json.loads(objects_run.result(key)) == cli_object_json(object_cli)


def test_object_expression_is_evaluated_by_lldb(objects_run, object_cli):
    """An ADDR that is not a number is an expression lldb evaluates (no JIT): a cast of the id()."""
    assert json.loads(objects_run.result("expression-json")) == cli_object_json(object_cli, names=["coroutine"])


@pytest.mark.parametrize("key, cli_options", [
    ("tree", ("--format", "tree")),
    ("flat", ("--format", "flat")),
    ("ascii-hidden", ("--format", "tree", "--ascii", "--show-hidden")),
])
def test_object_text_equals_cli(objects_run, object_cli, key, cli_options):
    text = objects_run.result(key)
    assert text == cli_object_text(object_cli, *cli_options)
    assert text.count("stackscope.Stack of <") + text.count("Traceback of <") == len(OBJECTS), text


def test_object_error_as_the_cli_gives_it(objects_run, object_cli):
    """A dict is no object with a stack: the CLI's error (exit 1 there), a warning here."""
    expected = cli_object_json(object_cli, names=[ERROR_OBJECT], exit_code=1)
    (entry,) = expected["objects"]
    assert entry["type"] == "dict" and entry["error"] and entry["frames"] == [], entry
    for key, check in (("error-json", lambda out: json.loads(out) == expected),
                       ("error-tree", lambda out: out == cli_object_text(object_cli, names=[ERROR_OBJECT],
                                                                         exit_code=1))):
        result = objects_run.results[key]
        assert result["succeeded"] and result["error"] == OBJECT_WARNING, result
        assert check(result["output"]), result


def test_object_argument_errors(objects_run):
    see = " (see 'help stackscope object')\n"
    for key, message in (
            ("not-an-address", "'no_such_symbol_here' is not an address (0x-hex, decimal or an expression): "
                               "use of undeclared identifier 'no_such_symbol_here'"),
            ("native", "--native shows lldb's frames of threads: an object has none"),
            ("none", "give the address of at least one object")):
        result = objects_run.results[key]
        assert not result["succeeded"] and result["output"] == "", result
        assert result["error"] == "error: stackscope object: " + message + see, result


@pytest.mark.parametrize("mode", ["live"])
def test_object_session_leaves_target_running_and_untraced(objects_run, objects_scenario):
    assert objects_run.left_behind == [], "lldb left threads traced or stopped:\n" + objects_run.describe()
    assert objects_scenario.ping(), "the objects scenario no longer runs Python code after lldb detached"


# ---- tasks (stackscope tasks) ----------------------------------------------------------


TASK_COMMANDS = [
    Command("tree", "stackscope tasks"),
    Command("flat", "stackscope tasks --flat"),
    Command("ascii-hidden", "stackscope tasks --ascii --show-hidden"),
    Command("json", "stackscope tasks --json"),
    Command("json-sbapi", "stackscope tasks --json", {"STACKSCOPE_LLDB_READS": "lldb"}),
    Command("no-contexts", "stackscope tasks --no-contexts"),
    Command("locals", "stackscope tasks --locals"),
    Command("json-locals", "stackscope tasks --json --locals"),
    Command("native", "stackscope tasks --native"),
    Command("tasks-option", "stackscope tasks --tasks"),
    Command("argument", "stackscope tasks 3"),
]


@pytest.fixture
def tasks_run(lldb_sessions, lldb, lldb_plugin, mode, tasks_scenario, python, request):
    """The lldb session on the tasks scenario of this interpreter and mode (run once)."""
    key = ("tasks", str(python), mode)
    if key not in lldb_sessions:
        if mode == "live":
            setup, live_pid = ["process attach -p %d" % tasks_scenario.pid], tasks_scenario.pid
        else:
            core = request.getfixturevalue("tasks_core")
            setup, live_pid = ["target create %s --core %s" % (quote(python), quote(core))], None
        lldb_sessions[key] = run_lldb(lldb, lldb_plugin, tasks_scenario.workdir, "tasks-" + mode, setup,
                                      TASK_COMMANDS, live_pid)
    run = lldb_sessions[key]
    assert run.returncode == 0 and run.results, run.describe()
    return run


@pytest.mark.parametrize("key", ["json", "json-sbapi"])
def test_tasks_json_equals_cli_plus_debugger_thread(tasks_run, tasks_cli_json, mode, key):
    """Read directly (live) and through LLDB's SB API (live and core)."""
    expected = with_debugger_threads(tasks_cli_json, tasks_run, mode)
    assert json.loads(tasks_run.result(key)) == expected


@pytest.mark.parametrize("key, cli_options", [
    ("tree", ("--tasks",)),
    ("flat", ("--tasks", "--flat")),
    ("ascii-hidden", ("--tasks", "--ascii", "--show-hidden")),
    ("no-contexts", ("--tasks", "--no-contexts")),
    ("locals", ("--tasks", "--locals")),
])
def test_tasks_text_equals_cli_but_headers(tasks_run, tasks_cli, tasks_scenario, key, cli_options, mode):
    cli_headers, cli_rest = split_headers(without_process_header(tasks_cli(*cli_options)), HEADER_CLI)
    lldb_headers, lldb_rest = split_headers(tasks_run.result(key), HEADER_LLDB)
    assert lldb_rest == cli_rest
    expected = ["thread #%d (tid %s)%s:" % (tasks_run.threads[int(h.group(1))], h.group(1), h.group(2))
                for h in cli_headers]
    assert [h.group(0) for h in lldb_headers] == expected
    running = " (running task '%s'):" % tasks_scenario.truth["running_task"]
    assert [h.group(2) for h in lldb_headers if h.group(0).endswith(running)] == [
        "%d" % tasks_scenario.truth["loop_thread"]], expected
    if key != "flat":  # each task is headed by its repr (upstream's Stack of <Task ...>), or shown under its awaiter
        text = "\n".join(lldb_rest)
        for name in tasks_scenario.truth["tasks"]:
            assert "name='%s'" % name in text, (name, text)


def test_tasks_native_shows_native_frames_then_the_clis_tasks(tasks_run, tasks_cli, mode):
    """--native: the threads with lldb's native frames between the Python ones, then the task
    trees exactly as the CLI prints them (tasks have no native frames)."""
    text = tasks_run.result("native")
    threads, marker, tasks = text.partition("\nEvent loop ")
    cli_threads, cli_marker, cli_tasks = tasks_cli("--tasks").partition("\nEvent loop ")
    assert marker and cli_marker, (text, cli_tasks)
    assert tasks == cli_tasks
    assert NATIVE_HEADING in threads, threads
    assert any(FRAME_LINE.match(line) for line in threads.splitlines()), threads


def test_tasks_json_locals_equals_cli(tasks_run, tasks_cli, tasks_cli_json, mode):
    expected = with_debugger_threads(json.loads(tasks_cli("--tasks", "--json", "--locals")), tasks_run, mode)
    assert len(expected["tasks"]) == len(tasks_cli_json["tasks"])
    assert json.loads(tasks_run.result("json-locals")) == expected


@pytest.mark.parametrize("key, message", [
    ("argument", "stackscope tasks: unexpected argument '3'"),
    ("tasks-option", "stackscope tasks: unknown option '--tasks'"),
])
def test_tasks_argument_errors(tasks_run, key, message):
    result = tasks_run.results[key]
    assert not result["succeeded"] and result["output"] == "", result
    assert result["error"].startswith("error: " + message), result


@pytest.mark.parametrize("mode", ["live"])
def test_tasks_session_leaves_target_running_and_untraced(tasks_run, tasks_scenario):
    assert tasks_run.left_behind == [], "lldb left threads traced or stopped:\n" + tasks_run.describe()
    assert tasks_scenario.ping(), "the tasks scenario no longer runs Python code after lldb detached"


# Without an interpreter: help, argument errors, no process, a process that is not Python.

@pytest.fixture(scope="session")
def no_target_run(lldb, lldb_plugin, tmp_path_factory):
    commands = [
        Command("help", "help stackscope"),
        Command("help-all", "help stackscope all-threads"),
        Command("help-thread", "help stackscope thread"),
        Command("help-object", "help stackscope object"),
        Command("help-tasks", "help stackscope tasks"),
        Command("help-locks", "help stackscope locks"),
        Command("no-process", "stackscope all-threads"),
        Command("bad-option", "stackscope all-threads --bogus"),
        Command("bad-combination", "stackscope thread --json --flat"),
        Command("native-json", "stackscope all-threads --native --json"),
        Command("native-flat", "stackscope thread --flat --native"),
        Command("native-format-json", "stackscope thread --native --format json"),
        Command("one-dash", "stackscope all-threads -json"),
        Command("bad-format", "stackscope all-threads --format xml"),
        Command("no-format", "stackscope all-threads --format"),
        Command("two-threads", "stackscope thread 1 2"),
        Command("not-a-number", "stackscope thread abc"),
        Command("argument-to-all", "stackscope all-threads 3"),
        Command("dash-help", "stackscope all-threads --help"),
    ]
    return run_lldb(lldb, lldb_plugin, tmp_path_factory.mktemp("lldb-no-target"), "no_target", [], commands)


@pytest.fixture(scope="session")
def sleep_run(lldb, lldb_plugin, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lldb-sleep")
    proc = spawn(["sleep", "1000"])
    try:
        wait_until_all_sleeping(proc.pid)
        commands = [
            Command("all", "stackscope all-threads"),
            Command("thread", "stackscope thread"),
            Command("json", "stackscope all-threads --json"),
            Command("no-such-thread", "stackscope thread 9999"),
        ]
        yield run_lldb(lldb, lldb_plugin, workdir, "sleep", ["process attach -p %d" % proc.pid], commands, proc.pid)
    finally:
        kill_group(proc)


def test_help_describes_subcommands_and_options(no_target_run):
    top = no_target_run.result("help")
    assert "all-threads" in top and "thread" in top and "Python" in top, top
    options = ("[--format tree|flat|json | --flat | --json] [--ascii] [--color auto|always|never] [--show-hidden] [--no-contexts] "
               "[--locals] [--native]")
    for key, usage in (("help-all", "stackscope all-threads "), ("help-thread", "stackscope thread [N] ")):
        text = no_target_run.result(key)
        assert usage + options in text, text
        listed = [line.split()[0] for line in text.splitlines() if line.startswith("  --")]
        assert listed == OPTIONS, text  # each option once, with its help
        assert "first, marked (crashed: SIGSEGV at 0x0)" in " ".join(text.split()), text
    assert "--tasks" not in no_target_run.result("help-all")  # the CLI's option is a subcommand here


@pytest.mark.parametrize("command, summary, example", [
    ("tasks", "then every asyncio task", "Event loop 0x"),
    ("locks", "then the deadlocks", "Deadlock: 2 threads"),
])
def test_help_describes_subcommand(no_target_run, command, summary, example):
    top = no_target_run.result("help")
    assert re.search(r"^\s+%s\s+-- Print every Python thread, %s" % (command, summary), top, re.M), top
    text = no_target_run.result("help-" + command)
    assert "stackscope %s [--format tree|flat|json | --flat | --json] [--ascii] [--color auto|always|never] " \
           "[--show-hidden] [--no-contexts] [--locals] [--native]\n" % command in text, text
    assert "The CLI's --%s" % command in text and example in text, text
    assert all(len(line) < 80 for line in text.splitlines() if not line.startswith("Syntax: ")), text


def test_help_describes_object(no_target_run):
    top = no_target_run.result("help")
    assert re.search(r"^\s+object\s+-- Print the stacks of objects by address", top, re.M), top
    text = no_target_run.result("help-object")
    assert "stackscope object ADDR [ADDR...] [--format tree|flat|json | --flat | --json] [--ascii] " \
           "[--color auto|always|never] [--show-hidden] [--no-contexts] [--locals]\n" in text, text
    assert "0x-hex or decimal" in text and "--native does not apply" in text, text


@pytest.mark.parametrize("key, message", [
    ("no-process", "stackscope all-threads: no process"),
    ("bad-option", "stackscope all-threads: unknown option '--bogus' (see 'help stackscope all-threads')"),
    ("bad-combination", "stackscope thread: --json and --flat cannot be combined (see 'help stackscope thread')"),
    ("native-json", "stackscope all-threads: --native works with tree output only: it cannot be combined with --json"),
    ("native-flat", "stackscope thread: --native works with tree output only: it cannot be combined with --flat"),
    ("native-format-json", "stackscope thread: --native works with tree output only: it cannot be combined with "
                           "--format json"),
    ("one-dash", "stackscope all-threads: unknown option '-json' (lldb's options take two dashes: --json)"),
    ("bad-format", "stackscope all-threads: --format xml: expected tree, flat or json"),
    ("no-format", "stackscope all-threads: --format needs a value: tree|flat|json"),
    ("two-threads", "stackscope thread: unexpected argument '2'"),
    ("not-a-number", "stackscope thread: 'abc' is not a thread index"),
    ("argument-to-all", "stackscope all-threads: unexpected argument '3'"),
    ("dash-help", "stackscope all-threads: unknown option '--help' (see 'help stackscope all-threads')"),
])
def test_bad_arguments_fail_like_lldb_commands(no_target_run, key, message):
    result = no_target_run.results[key]
    assert not result["succeeded"], result
    assert result["error"].startswith("error: " + message), result
    assert result["error"].count("\n") == 1 and result["output"] == "", result
    assert no_target_run.returncode == 0, no_target_run.describe()  # lldb ran every later command and quit normally


def test_failed_command_stops_a_batch_without_crashing(lldb, lldb_plugin):
    """Typed in a batch, a bad argument is a failed command: lldb stops the batch (exit 1)."""
    argv = [lldb, "--no-lldbinit", "--batch", "-o", "plugin load %s" % quote(lldb_plugin),
            "-o", "stackscope all-threads --bogus", "-o", "version"]
    proc = subprocess.run(argv, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "error: stackscope all-threads: unknown option '--bogus'" in proc.stderr
    assert "lldb version" not in proc.stdout


def test_non_python_process_is_one_error_line(sleep_run):
    for key in ("all", "thread", "json"):
        result = sleep_run.results[key]
        assert not result["succeeded"] and result["output"] == "", result
        assert re.fullmatch(r"error: stackscope (all-threads|thread): no Python runtime found in process \d+[^\n]*\n",
                            result["error"]), result
    no_thread = sleep_run.results["no-such-thread"]
    assert no_thread["error"] == "error: stackscope thread: no thread #9999 (see 'thread list')\n", no_thread
    assert sleep_run.returncode == 0 and sleep_run.left_behind == [], sleep_run.describe()


@pytest.fixture(scope="session")
def gone_run(lldb, lldb_plugin, tmp_path_factory):
    """A process that exited (launched, ran to its end), and one lldb detached from."""
    workdir = tmp_path_factory.mktemp("lldb-gone")
    proc = spawn(["sleep", "1000"])
    try:
        wait_until_all_sleeping(proc.pid)
        exited = run_lldb(lldb, lldb_plugin, workdir, "exited", ["target create /bin/false", "process launch"],
                          [Command("all", "stackscope all-threads")])
        detached = run_lldb(lldb, lldb_plugin, workdir, "detached", ["process attach -p %d" % proc.pid, "process detach"],
                            [Command("all", "stackscope all-threads"), Command("thread", "stackscope thread")])
        yield exited, detached
    finally:
        kill_group(proc)


def test_an_exited_or_detached_process_is_no_process(gone_run):
    """Not "stop it with 'process interrupt'", which cannot work for them."""
    exited, detached = gone_run
    result = exited.results["all"]
    assert not result["succeeded"] and result["output"] == "", exited.describe()
    assert result["error"].startswith("error: stackscope all-threads: no process: it exited with status 1 ("), result
    assert "process interrupt" not in result["error"] and "process launch" in result["error"], result
    for key in ("all", "thread"):
        result = detached.results[key]
        assert not result["succeeded"] and result["output"] == "", detached.describe()
        assert result["error"].startswith("error: stackscope %s: no process: detached from it (attach to one"
                                          % ("all-threads" if key == "all" else key)), result
