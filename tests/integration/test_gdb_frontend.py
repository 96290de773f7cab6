"""The GDB front-end (`source build/gdb/stackscope-gdb.py`) against the shared scenario, live
and from its core (loaded with its executable, as users do), per interpreter.

`py-stackscope -json` must equal the CLI's JSON for the same target plus a
`debugger_thread` per thread (gdb's number of the thread with that LWP); its text must
equal the CLI's once thread header lines are removed, and the headers read
`Thread N (LWP tid)` + the CLI's details.  `bt` must show each thread's Python frames (from
the CLI's JSON) under the `_PyEval_EvalFrameDefault` frames running them, in order, and
no longer once the frame filter is disabled.  One gdb session per interpreter and mode
runs every command (gdb_frontend.py); a live target must be left running and untraced.

Generic tests: errors (no inferior, not a Python process) are one line without a Python
traceback, `help` and tab completion, the module's Python API from plain Python, and one
extraction per stop (py-stackscope and bt share it; a program run under gdb stops twice).
The pairing rule itself (core/eval_calls.hpp) has unit tests (tests/unit/test_eval_calls.cpp).

`py-stackscope object EXPR...` (issue 13), per interpreter, live and from a core, on its own
scenario (scenarios/frontend_objects.py: a `yield from` chain, a coroutine awaiting a
coroutine awaiting a Future, a coroutine not started, the Future, a dict, and upstream's README
example, whose contexts hold inner stacks and ExitStack children): its JSON equals
the CLI's `--object` JSON, its text the CLI's below the process header, also for EXPRs in
decimal, through a gdb variable and read through gdb; the dict gets the CLI's error, with a
warning, and an EXPR that is no address is a one-line error.

`py-stackscope tasks` (issue 16), per interpreter, live and from a core, on its own scenario
(scenarios/frontend_tasks.py: a few named tasks on one loop, a gather, a TaskGroup from 3.11):
its JSON equals the CLI's `--tasks` JSON (which must list the scenario's tasks by name, id and
loop) plus `debugger_thread`, also read through gdb; its text the CLI's below the thread
headers; `py-stackscope -json` in the same stop is the CLI's JSON without tasks. On the
shared scenario (no asyncio), `py-stackscope tasks` says "no event loops" as the CLI does.
"""
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from gdb_frontend import (
    GDB_HEADER, blocks, eval_call_groups, gdb_program, gdb_script, headers, parse_bt, run_gdb, run_session,
    without_headers,
)
from harness import (
    ScenarioProcess, clean_env, describe, kill_group, make_core, run_tool, spawn, wait_until_all_sleeping,
    without_process, without_process_header,
)
from interpreters import INTERPRETERS, interpreter_params
from test_unsupported_runtime import patched_copy

pytestmark = pytest.mark.column("gdb")

DETAIL_THREAD = "event-waiter"  # the thread looked at by `py-stackscope thread N`


@pytest.fixture(scope="session")
def gdb():
    return gdb_program()


@pytest.fixture(scope="session")
def script():
    return gdb_script()


@pytest.fixture(scope="session")
def gdb_sessions():
    return {}


@pytest.fixture
def session(gdb_sessions, gdb, script, interp, mode, scenario, python, truth, target_args, request):
    """The gdb session of this interpreter and mode (run once, then cached)."""
    key = (interp.label, mode)
    if key not in gdb_sessions:
        detail_lwp = next(t["native_id"] for t in truth["threads"] if t["name"] == DETAIL_THREAD)
        workdir = scenario.workdir / ("gdb-" + mode)
        workdir.mkdir(exist_ok=True)
        if mode == "live":
            target, pid = ["-p", scenario.pid], scenario.pid
        else:
            target, pid = [python, request.getfixturevalue("core_dump")], None
        gdb_sessions[key] = run_session(gdb, script, target, workdir, detail_lwp, pid=pid)
    run = gdb_sessions[key]
    assert run.result, "the driver did not finish\n" + run.describe()
    return run


def cli(run_cached, tool, *options):
    result = run_cached(tool, *options)
    assert result.returncode == 0, describe(result)
    return without_process_header(result.stdout)


def with_debugger_threads(snapshot, session):
    numbers = session.thread_numbers()
    expected = json.loads(json.dumps(without_process(snapshot)))
    for thread in expected["threads"]:
        thread["debugger_thread"] = numbers[thread["tid"]]
    return expected


# ---- per interpreter and mode ---------------------------------------------------------


def test_json_equals_cli_plus_debugger_thread(session, snapshot):
    assert json.loads(session.output("json")) == with_debugger_threads(snapshot, session)


def test_json_read_through_gdb_equals_cli(session, snapshot):
    """`set py-stackscope-memory gdb`: the remote-target path (inferior.read_memory)."""
    assert json.loads(session.output("json_via_gdb")) == with_debugger_threads(snapshot, session)


def test_tree_equals_cli_without_headers(session, run_cached, tool):
    assert without_headers(session.output("tree")) == without_headers(cli(run_cached, tool, "--format", "tree"))


def test_flat_equals_cli_without_headers(session, run_cached, tool):
    assert without_headers(session.output("flat")) == without_headers(cli(run_cached, tool, "--format", "flat"))


def test_no_contexts_equals_cli_without_headers(session, run_cached, tool):
    """-no-contexts drops the with-blocks from the snapshot gdb read with them, as the CLI never reads them."""
    expected = cli(run_cached, tool, "--format", "tree", "--no-contexts")
    assert "║ ├ " not in expected
    assert without_headers(session.output("no_contexts")) == without_headers(expected)


def test_ascii_hidden_equals_cli_without_headers(session, run_cached, tool):
    expected = cli(run_cached, tool, "--format", "tree", "--ascii", "--show-hidden")
    assert without_headers(session.output("ascii_hidden")) == without_headers(expected)


def test_format_flat_equals_cli_without_headers(session, run_cached, tool):
    """-format=flat -ascii: the value form of -format, and -ascii accepted and ignored outside the tree."""
    expected = cli(run_cached, tool, "--format=flat", "--ascii")
    assert without_headers(session.output("format_flat")) == without_headers(expected)


@pytest.mark.parametrize("key, cli_options", [
    ("json_hidden", ("--format", "json", "--show-hidden")),
    ("json_no_contexts", ("--json", "--no-contexts")),
    ("json_locals", ("--json", "--locals")),
    ("json_ascii", ("--json", "--ascii")),
    ("format_json", ("--format", "json")),
])
def test_json_with_options_equals_cli(session, run_cached, tool, key, cli_options):
    """Every combination the CLI accepts works in gdb, with the CLI's output: -json with
    -show-hidden or -ascii (which JSON ignores), -format json."""
    result = run_cached(tool, *cli_options)
    assert result.returncode == 0, describe(result)
    expected = with_debugger_threads(json.loads(result.stdout), session)
    assert json.loads(session.output(key)) == expected


def test_headers_name_gdb_threads(session, run_cached, tool, snapshot):
    """`Thread N (LWP tid)` + what the CLI's header says after its thread id."""
    numbers = session.thread_numbers()
    expected = []
    cli_headers = headers(cli(run_cached, tool, "--format", "tree"))
    assert snapshot["threads"] and len(cli_headers) == len(snapshot["threads"]), cli_headers
    for thread, header in zip(snapshot["threads"], cli_headers):
        prefix = "Thread %d" % thread["tid"]
        assert header.startswith(prefix), (header, thread["tid"])
        expected.append("Thread %d (LWP %d)%s" % (numbers[thread["tid"]], thread["tid"], header[len(prefix):]))
    assert headers(session.output("tree")) == expected
    assert headers(session.output("flat")) == expected


def test_thread_subcommand(session, snapshot):
    number = session.result["detail_thread"]
    expected = with_debugger_threads(snapshot, session)
    expected["threads"] = [t for t in expected["threads"] if t["debugger_thread"] == number]
    assert len(expected["threads"]) == 1
    assert json.loads(session.output("thread_json")) == expected
    tree = session.output("thread_tree")
    assert [header for header, _ in blocks(tree)] == [h for h in headers(session.output("tree"))
                                                      if GDB_HEADER.match(h)["num"] == str(number)]
    assert tree in session.output("tree")
    selected = blocks(session.output("selected_thread"))
    assert [GDB_HEADER.match(header)["num"] for header, _ in selected] == [str(session.result["selected"])]


def test_thread_subcommand_errors(session):
    assert session.error("no_such_thread") == "py-stackscope: no thread 9999 in the inferior (see info threads)"
    assert session.error("bad_option") == "py-stackscope: unknown option '-bogus' (see help py-stackscope)"
    assert session.error("two_dashes") == (
        "py-stackscope: unknown option '--json' (gdb's options take one dash: -json) (see help py-stackscope)")
    assert session.error("two_formats") == "py-stackscope: -flat and -json cannot be combined (see help py-stackscope)"
    assert session.error("native_json") == ("py-stackscope: -native works with tree output only: it cannot be "
                                            "combined with -json (see help py-stackscope)")


EVAL_LOOP = re.compile(r"^(_PyEval_EvalFrameDefault|_TAIL_CALL_)")


def eval_loop_named(native_frames):
    """Whether gdb named any eval-loop frame: a stripped interpreter (Debian's static 3.14 /
    3.15) hides its eval loop in a local clone without a symbol."""
    return any(EVAL_LOOP.match(name) for name, _ in native_frames)


def unplaceable(session, native_frames, thread):
    """Why a thread's Python frames cannot be placed among its native frames, or None."""
    if eval_loop_named(native_frames) or session.result.get("anchors"):
        return None
    return ("thread %s: gdb names no eval-loop frame of this stripped interpreter (%s), and this core gives no "
            "eval_stack_address to find them by stack range" % (thread["tid"], " ".join(name for name, _ in native_frames)))


def skip_if_unplaceable(reasons):
    """After the threads that could be checked were: a loud skip for those that could not."""
    if reasons:
        pytest.skip("!!! Python frames cannot be placed: " + "; ".join(reasons))


def test_bt_shows_python_frames_under_eval_frames(session, snapshot):
    """Per thread: the Python frames under each native frame are one eval-loop call's
    (from the CLI's JSON, newest first), every such frame is the eval loop (by name, or
    `??` where the interpreter has no symbol for it), and no named eval frame is left bare."""
    problems, unplaced = [], []
    assert snapshot["threads"]
    for thread in snapshot["threads"]:
        text = session.result["bt"][str(thread["tid"])]
        if text["error"]:
            problems.append("thread %s: bt failed: %s" % (thread["tid"], text["error"]))
            continue
        try:
            native = parse_bt(text["output"])
        except ValueError as error:
            problems.append("thread %s: %s\n%s" % (thread["tid"], error, text["output"]))
            continue
        if reason := unplaceable(session, native, thread):
            unplaced.append(reason)
            continue
        named = eval_loop_named(native)
        want = [[(f["function"], f["filename"], f["line"]) for f in group] for group in eval_call_groups(thread["frames"])]
        got = [python for _, python in native if python]
        hosts = [name for name, python in native if python]
        wrong_hosts = [name for name in hosts if not (EVAL_LOOP.match(name) or (name == "??" and not named))]
        bare = [name for name, python in native if not python and name.startswith("_PyEval_EvalFrameDefault")]
        if want != got or wrong_hosts or bare:
            problems.append("thread %s: Python frames per eval frame differ (want %s)\n%s" % (
                thread["tid"], want, text["output"]))
    assert problems == [], "\n\n".join(problems)
    skip_if_unplaceable(unplaced)


def test_bt_plain_once_filter_disabled(session):
    text = session.output("bt_disabled")
    assert [line for line in text.splitlines() if line.startswith("    ")] == []
    assert len(parse_bt(text)) > 3, text


def test_native_interleaves_frames(session, snapshot, run_cached, tool):
    """-native -show-hidden: the Python frames (as the CLI shows them with --show-hidden) each
    follow the native _PyEval_EvalFrameDefault frame that runs them."""
    expected_blocks = dict(blocks(cli(run_cached, tool, "--format", "tree", "--show-hidden")))
    cli_headers = headers(cli(run_cached, tool, "--format", "tree"))
    problems, unplaced = [], []
    native_blocks = blocks(session.output("native"))
    assert snapshot["threads"] and len(native_blocks) == len(snapshot["threads"]) == len(cli_headers), (
        session.output("native"))
    for (header, lines), thread, cli_header in zip(native_blocks, snapshot["threads"], cli_headers):
        if "(LWP %d)" % thread["tid"] not in header:
            problems.append("%s: not thread %d's block" % (header, thread["tid"]))
            continue
        if lines[:1] != ["stackscope.Stack with native frames (most recent call last):"]:
            problems.append("%s: heading %r" % (header, lines[:1]))
        python_lines = [line for line in lines[1:] if not line.startswith("╠ [native] ")]
        if python_lines != expected_blocks[cli_header][1:]:  # the CLI's, but its heading
            problems.append("%s: Python lines differ from the CLI's" % header)
        runs, previous_native = [], None
        for line in lines:
            if line.startswith("╠ [native] "):
                previous_native = line
            elif line.startswith("╠ "):
                if previous_native is not None:
                    runs.append((previous_native, []))
                    previous_native = None
                if not runs:
                    runs.append((None, []))
                runs[-1][1].append(line)
        natives = [(line[len("╠ [native] "):].split(" ")[0], None) for line in lines if line.startswith("╠ [native] ")]
        if reason := unplaceable(session, natives, thread):
            unplaced.append(reason)
            continue
        host = re.compile(r"╠ \[native\] (_PyEval_EvalFrameDefault|_TAIL_CALL_%s)" % ("" if eval_loop_named(natives) else "|\\?\\? "))
        want = [len(group) for group in reversed(eval_call_groups(thread["frames"]))]
        if [len(frames) for _, frames in runs] != want:
            problems.append("%s: runs of Python frames %s, eval calls %s" % (header, [len(f) for _, f in runs], want))
        if not all(native and host.match(native) for native, _ in runs):
            problems.append("%s: a run of Python frames follows %s" % (header, [n for n, _ in runs]))
    assert problems == [], "\n".join(problems) + "\n" + session.output("native")
    skip_if_unplaceable(unplaced)


def test_one_extraction_for_every_command_of_a_stop(session):
    """Every command and bt of the session (one stop) share one extraction (the cache), but
    that `py-stackscope tasks` reads the stop once more, with the tasks, `py-stackscope locks`
    once more, with the locks, and -locals once more, with the frames' variables (an extraction
    without them cannot give them), which the later commands and bt then share."""
    assert session.result["extractions"] == 4, session.describe()


def test_tasks_without_event_loops_equals_cli(session, run_cached, tool, snapshot):
    """`py-stackscope tasks` on a process without asyncio: the threads, then "no event loops"."""
    expected = cli(run_cached, tool, "--tasks")
    assert "\nno event loops\n" in expected, expected
    assert without_headers(session.output("tasks")) == without_headers(expected)
    result = run_cached(tool, "--tasks", "--json")
    assert result.returncode == 0, describe(result)
    expected = with_debugger_threads(json.loads(result.stdout), session)
    assert expected["tasks"] == [] and expected["tasks_error"] is None, expected
    assert json.loads(session.output("tasks_json")) == expected


def test_locks_equals_cli(session, run_cached, tool, truth):
    """`py-stackscope locks`: the CLI's --locks text once thread headers are set aside, and its
    JSON with debugger_thread; the CLI's names the lock-waiter's lock (taken by acquire(), no
    holder known) and the Condition the condition-waiter waits on."""
    expected = cli(run_cached, tool, "--locks")
    assert "\nLocks:\n" in expected, expected
    assert without_headers(session.output("locks")) == without_headers(expected)
    result = run_cached(tool, "--locks", "--json")
    assert result.returncode == 0, describe(result)
    expected = with_debugger_threads(json.loads(result.stdout), session)
    tids = {t["name"]: t["native_id"] for t in truth["threads"]}
    waiters = {(l["type"], w["tid"]) for l in expected["locks"] for w in l["waiters"]}
    assert ("lock", tids["lock-waiter"]) in waiters and ("Condition", tids["condition-waiter"]) in waiters, waiters
    assert json.loads(session.output("locks_json")) == expected


def test_locals_equals_cli_without_headers(session, run_cached, tool):
    """-locals: each frame's variables, as the CLI's --locals shows them for the same stop."""
    expected = cli(run_cached, tool, "--format", "tree", "--locals")
    assert "║   " in expected
    assert without_headers(session.output("locals")) == without_headers(expected)


def test_snapshot_read_with_locals_serves_commands_without_them(session):
    """After -locals, a command without it shows no variables: the same text as before."""
    assert session.output("tree_after_locals") == session.output("tree")


@pytest.mark.parametrize("mode", ["live"], indirect=True)
def test_gdb_leaves_target_running_and_untraced(session, scenario):
    assert session.left_behind == [], "gdb left threads traced or stopped (SIGCONT sent):\n" + session.describe()
    assert session.returncode == 0, session.describe()
    assert scenario.ping(), "the scenario no longer runs Python code after gdb detached"


def test_python_api_equals_cli(script, mode, python, target_args, snapshot, tmp_path):
    """stackscope_core from plain Python (the version gdb embeds): the same JSON as the CLI."""
    module = next(script.parent.glob("stackscope_core.cpython-*.so"), None)
    assert module is not None, "no stackscope_core module beside %s" % script
    version = re.search(r"cpython-(\d)(\d+)", module.name).groups()
    interpreter = "python%s.%s" % version
    if mode == "live":
        call = "stackscope_core.from_pid(%d)" % target_args[1]
    else:
        call = "stackscope_core.from_core(%r, executable=%r)" % (str(target_args[1]), str(python))
    code = "import sys; sys.path.insert(0, %r); import stackscope_core; sys.stdout.write(%s.json())" % (
        str(script.parent), call)
    result = subprocess.run([interpreter, "-c", code], env=clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout) == snapshot


@pytest.mark.parametrize("native_option", ["--native", "--native-all"])
def test_python_api_native_equals_cli(script, mode, python, target_args, tool, run_cached, native_option):
    """stackscope_core's native=True (issue 18): the same threads and frames as the CLI's --native
    (--native-all: json(native_all=True)), native frames included."""
    cli_result = run_cached(tool, native_option, "--json")
    assert cli_result.returncode == 0, describe(cli_result)
    expected = json.loads(cli_result.stdout)
    assert any(f["kind"] == "native" for t in expected["threads"] for f in t["frames"]), cli_result.stdout
    module = next(script.parent.glob("stackscope_core.cpython-*.so"), None)
    assert module is not None, "no stackscope_core module beside %s" % script
    interpreter = "python%s.%s" % re.search(r"cpython-(\d)(\d+)", module.name).groups()
    if mode == "live":
        call = "stackscope_core.from_pid(%d, native=True)" % target_args[1]
    else:
        call = "stackscope_core.from_core(%r, executable=%r, native=True)" % (str(target_args[1]), str(python))
    code = "import sys; sys.path.insert(0, %r); import stackscope_core; sys.stdout.write(%s.json(native_all=%r))" % (
        str(script.parent), call, native_option == "--native-all")
    result = subprocess.run([interpreter, "-c", code], env=clean_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout) == expected


# ---- objects (py-stackscope object) ---------------------------------------------------

OBJECTS = ("generator", "coroutine", "not_started", "future", "elaborated")  # frontend_objects.py's, read without error
ERROR_OBJECT = "not_a_generator"  # a dict
OBJECT_WARNING = "warning: py-stackscope: some objects could not be read completely (see their errors)\n"


@pytest.fixture(scope="session")
def objects_scenario(python, interp, tmp_path_factory):
    target = ScenarioProcess(python, tmp_path_factory.mktemp("gdb-objects-%s-" % interp.label),
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
        ["tree", "py-stackscope object " + good],
        ["flat", "py-stackscope object -flat " + good],
        ["ascii_hidden", "py-stackscope object %s -ascii -show-hidden" % good],
        ["locals", "py-stackscope object -locals " + good],
        ["json", "py-stackscope object -json " + good],
        ["decimal_json", "py-stackscope object -format json " + " ".join(map(str, object_ids(scenario)))],
        ["set_variable", "set $stackscope_object = %d" % scenario.truth["objects"]["coroutine"]],
        ["variable_json", "py-stackscope object $stackscope_object -json"],
        ["error_tree", "py-stackscope object " + error],
        ["error_json", "py-stackscope object -json " + error],
        ["not_an_address", "py-stackscope object no_such_symbol_here"],
        ["native", "py-stackscope object -native " + good],
        ["memory_gdb", "set py-stackscope-memory gdb"],
        ["json_through_gdb", "py-stackscope object -json " + good],
        ["memory_auto", "set py-stackscope-memory auto"],
    ]


@pytest.fixture
def objects_session(gdb_sessions, gdb, script, interp, mode, objects_scenario, python, request):
    """The gdb session on the objects scenario of this interpreter and mode (run once)."""
    key = ("objects", interp.label, mode)
    if key not in gdb_sessions:
        workdir = objects_scenario.workdir / ("gdb-" + mode)
        workdir.mkdir(exist_ok=True)
        if mode == "live":
            target, pid = ["-p", objects_scenario.pid], objects_scenario.pid
        else:
            target, pid = [python, request.getfixturevalue("objects_core")], None
        gdb_sessions[key] = run_session(gdb, script, target, workdir, objects_scenario.pid, pid=pid,
                                        commands=object_commands(objects_scenario))
    run = gdb_sessions[key]
    assert run.result, "the driver did not finish\n" + run.describe()
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


def test_object_json_equals_cli(objects_session, object_cli):
    expected = cli_object_json(object_cli)
    assert [o["type"] for o in expected["objects"]] == ["generator", "coroutine", "coroutine", "Future", "generator"]
    # The README example's contexts hold an inner stack, whose ExitStack has children (issue 15).
    outer = expected["objects"][4]["frames"][1]["contexts"][0]
    inner = outer["inner_stack"]["frames"][0]["contexts"][0]["inner_stack"]["frames"][0]
    assert [c["varname"] for c in inner["contexts"][0]["children"]] == ["stack[0]", "stack[1]"]
    assert [o["error"] for o in expected["objects"]] == [None] * len(OBJECTS)
    assert json.loads(objects_session.output("json")) == expected


@pytest.mark.parametrize("key", ["decimal_json", "json_through_gdb"])
def test_object_json_in_decimal_and_read_through_gdb_equals_cli(objects_session, object_cli, key):
    assert json.loads(objects_session.output(key)) == cli_object_json(object_cli)


def test_object_expression_is_evaluated_by_gdb(objects_session, object_cli):
    """EXPR is any gdb expression: here a convenience variable holding the coroutine's id()."""
    assert json.loads(objects_session.output("variable_json")) == cli_object_json(object_cli, names=["coroutine"])


@pytest.mark.parametrize("key, cli_options", [
    ("tree", ("--format", "tree")),
    ("flat", ("--format", "flat")),
    ("ascii_hidden", ("--format", "tree", "--ascii", "--show-hidden")),
    ("locals", ("--format", "tree", "--locals")),
])
def test_object_text_equals_cli(objects_session, object_cli, key, cli_options):
    text = objects_session.output(key)
    assert text == cli_object_text(object_cli, *cli_options)
    assert text.count("stackscope.Stack of <") + text.count("Traceback of <") == len(OBJECTS), text


def test_object_error_as_the_cli_gives_it(objects_session, object_cli):
    """A dict is no object with a stack: the CLI's error (exit 1 there), a warning here."""
    expected = cli_object_json(object_cli, names=[ERROR_OBJECT], exit_code=1)
    (entry,) = expected["objects"]
    assert entry["type"] == "dict" and entry["error"] and entry["frames"] == [], entry
    output = objects_session.output("error_json")
    assert output.endswith(OBJECT_WARNING), output  # gdb.execute(to_string=True) takes stderr too
    assert json.loads(output[:-len(OBJECT_WARNING)]) == expected
    tree = objects_session.output("error_tree")
    assert tree == cli_object_text(object_cli, names=[ERROR_OBJECT], exit_code=1) + OBJECT_WARNING


def test_object_argument_errors(objects_session):
    see = " (see help py-stackscope object)"
    error = objects_session.error("not_an_address")  # gdb's reason depends on the symbols it has
    assert re.fullmatch(r"py-stackscope object: 'no_such_symbol_here' is not an address: (No symbol "
                        r"\"no_such_symbol_here\" in current context|No symbol table is loaded\.  Use the \"file\" "
                        r"command)" + re.escape(see), error), error
    assert objects_session.error("native") == (
        "py-stackscope object: -native shows gdb's frames of threads: an object has none" + see)


@pytest.mark.parametrize("mode", ["live"], indirect=True)
def test_object_session_leaves_target_running_and_untraced(objects_session, objects_scenario):
    assert objects_session.left_behind == [], "gdb left threads traced or stopped:\n" + objects_session.describe()
    assert objects_session.returncode == 0, objects_session.describe()
    assert objects_scenario.ping(), "the objects scenario no longer runs Python code after gdb detached"


# ---- tasks (py-stackscope tasks) ------------------------------------------------------


TASK_COMMANDS = [
    ["tree", "py-stackscope tasks"],
    ["flat", "py-stackscope tasks -flat"],
    ["ascii_hidden", "py-stackscope tasks -ascii -show-hidden"],
    ["json", "py-stackscope tasks -json"],
    ["threads_json", "py-stackscope -json"],  # after the tasks' read, which serves it without them
    ["no_contexts", "py-stackscope tasks -no-contexts"],
    ["locals", "py-stackscope tasks -locals"],  # read again, with the variables
    ["json_locals", "py-stackscope tasks -json -locals"],
    ["json_after_locals", "py-stackscope tasks -json"],  # that read, without its variables
    ["native", "py-stackscope tasks -native"],
    ["tasks_option", "py-stackscope tasks -tasks"],
    ["argument", "py-stackscope tasks 3"],
    ["memory_gdb", "set py-stackscope-memory gdb"],
    ["json_through_gdb", "py-stackscope tasks -json"],
    ["memory_auto", "set py-stackscope-memory auto"],
]


@pytest.fixture
def tasks_session(gdb_sessions, gdb, script, interp, mode, tasks_scenario, python, request):
    """The gdb session on the tasks scenario of this interpreter and mode (run once)."""
    key = ("tasks", interp.label, mode)
    if key not in gdb_sessions:
        workdir = tasks_scenario.workdir / ("gdb-" + mode)
        workdir.mkdir(exist_ok=True)
        if mode == "live":
            target, pid = ["-p", tasks_scenario.pid], tasks_scenario.pid
        else:
            target, pid = [python, request.getfixturevalue("tasks_core")], None
        gdb_sessions[key] = run_session(gdb, script, target, workdir, tasks_scenario.truth["loop_thread"], pid=pid,
                                        commands=TASK_COMMANDS)
    run = gdb_sessions[key]
    assert run.result, "the driver did not finish\n" + run.describe()
    return run


def test_tasks_json_equals_cli_plus_debugger_thread(tasks_session, tasks_cli_json):
    expected = with_debugger_threads(tasks_cli_json, tasks_session)
    assert json.loads(tasks_session.output("json")) == expected


@pytest.mark.parametrize("key", ["json_through_gdb", "json_after_locals"])
def test_tasks_json_read_through_gdb_or_again_equals_cli(tasks_session, tasks_cli_json, key):
    """Read through gdb (set py-stackscope-memory gdb), or served by the stop's read with the
    variables (-locals), shown without them."""
    expected = with_debugger_threads(tasks_cli_json, tasks_session)
    assert json.loads(tasks_session.output(key)) == expected


def test_tasks_json_locals_equals_cli(tasks_session, tasks_cli, tasks_cli_json):
    expected = with_debugger_threads(json.loads(tasks_cli("--tasks", "--json", "--locals")), tasks_session)
    assert len(expected["tasks"]) == len(tasks_cli_json["tasks"])
    assert json.loads(tasks_session.output("json_locals")) == expected


def test_threads_after_tasks_are_read_without_them(tasks_session, tasks_cli):
    """`py-stackscope -json` after `py-stackscope tasks` (the same stop, one read serving both):
    the CLI's JSON without --tasks (no tasks, no running_task)."""
    expected = with_debugger_threads(json.loads(tasks_cli("--format", "json")), tasks_session)
    assert "tasks" not in expected and all("running_task" not in t for t in expected["threads"])
    assert json.loads(tasks_session.output("threads_json")) == expected


@pytest.mark.parametrize("key, cli_options", [
    ("tree", ("--tasks",)),
    ("flat", ("--tasks", "--flat")),
    ("ascii_hidden", ("--tasks", "--ascii", "--show-hidden")),
    ("no_contexts", ("--tasks", "--no-contexts")),
    ("locals", ("--tasks", "--locals")),
])
def test_tasks_text_equals_cli_without_headers(tasks_session, tasks_cli, tasks_scenario, key, cli_options):
    expected = without_process_header(tasks_cli(*cli_options))
    text = tasks_session.output(key)
    assert without_headers(text) == without_headers(expected)
    if key != "flat":  # each task is headed by its repr (upstream's Stack of <Task ...>), or shown under its awaiter
        for name in tasks_scenario.truth["tasks"]:
            assert "name='%s'" % name in text, (name, text)
    running = " (running task '%s'):" % tasks_scenario.truth["running_task"]
    assert [h for h in headers(text) if h.endswith(running)] == [
        h for h in headers(text) if "(LWP %d)" % tasks_scenario.truth["loop_thread"] in h], text
    numbers = tasks_session.thread_numbers()
    assert len(headers(text)) == len(headers(expected)), (text, expected)
    for gdb_header, cli_header in zip(headers(text), headers(expected)):
        match, tid = GDB_HEADER.match(gdb_header), cli_header.split()[1]
        assert match and match["lwp"] == tid and int(match["num"]) == numbers[int(tid)], (gdb_header, cli_header)
        assert match["details"] + ":" == cli_header[len("Thread " + tid):], (gdb_header, cli_header)


def test_tasks_native_shows_native_frames_then_the_clis_tasks(tasks_session, tasks_cli):
    """-native: the threads with gdb's native frames between the Python ones, then the task
    trees exactly as the CLI prints them (tasks have no native frames)."""
    text = tasks_session.output("native")
    threads, marker, tasks = text.partition("\nEvent loop ")
    cli_threads, cli_marker, cli_tasks = tasks_cli("--tasks").partition("\nEvent loop ")
    assert marker and cli_marker, (text, cli_tasks)
    assert tasks == cli_tasks
    assert "stackscope.Stack with native frames (most recent call last):" in threads, threads
    assert "╠ [native] " in threads, threads
    assert len(headers(threads)) == len(headers(cli_threads)), (threads, cli_threads)


def test_tasks_argument_errors(tasks_session):
    see = " (see help py-stackscope)"
    assert tasks_session.error("argument") == "py-stackscope: unexpected argument '3'" + see
    assert tasks_session.error("tasks_option").startswith("py-stackscope: unknown option '-tasks'")


@pytest.mark.parametrize("mode", ["live"], indirect=True)
def test_tasks_session_leaves_target_running_and_untraced(tasks_session, tasks_scenario):
    assert tasks_session.left_behind == [], "gdb left threads traced or stopped:\n" + tasks_session.describe()
    assert tasks_session.returncode == 0, tasks_session.describe()
    assert tasks_scenario.ping(), "the tasks scenario no longer runs Python code after gdb detached"


# ---- generic --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sleeper():
    proc = spawn(["sleep", "1000"])
    yield proc
    kill_group(proc)


def gdb_commands(*commands):
    args = []
    for command in commands:
        args += ["-ex", command]
    return args


def test_no_inferior_is_one_line(gdb, script):
    rc, out, err, _ = run_gdb(gdb, gdb_commands("source %s" % script, "py-stackscope"))
    assert rc != 0
    assert err.strip() == "py-stackscope: no process (run or attach to a Python program, or load a core file with its executable)"
    assert "Traceback" not in out + err


def test_not_a_python_process(gdb, script, sleeper):
    rc, out, err, _ = run_gdb(gdb, ["-p", sleeper.pid] + gdb_commands(
        "echo @@plain\\n", "bt", "source %s" % script, "echo @@filtered\\n", "bt", "py-stackscope -json"))
    errors = [line for line in err.splitlines() if line.startswith("py-stackscope")]
    assert errors == ["py-stackscope: not a Python process (no Python runtime found in process %d)" % sleeper.pid], err
    assert "Traceback" not in out + err
    plain, filtered = out.split("@@plain\n", 1)[1].split("@@filtered\n")
    assert filtered.strip().startswith(plain.strip()), "bt changed for a non-Python inferior:\n%s\n%s" % (plain, filtered)


GDB_OPTIONS = ("-format", "-flat", "-json", "-ascii", "-color", "-show-hidden", "-no-contexts", "-locals", "-native")


def test_help_and_completion(gdb, script, sleeper):
    rc, out, err, _ = run_gdb(gdb, ["-p", sleeper.pid] + gdb_commands(
        "source %s" % script, "help py-stackscope", "echo @@thread-help\\n", "help py-stackscope thread",
        "echo @@complete\\n", "complete py-stackscope -", "complete py-stackscope -json -a",
        "complete py-stackscope thread ", "complete py-stackscope -format "))
    help_text, rest = out.split("@@thread-help\n", 1)
    thread_help, completions = rest.split("@@complete\n", 1)
    usage = ("[-format tree|flat|json | -flat | -json] [-ascii] [-color auto|always|never] [-show-hidden] [-no-contexts] "
             "[-locals] [-native]")
    assert "Usage: py-stackscope " + usage in help_text
    assert "Usage: py-stackscope thread [N] " + usage in thread_help
    assert "py-stackscope thread -- " in help_text
    listed = [line.split()[0] for line in help_text.splitlines() if line.startswith("  -")]
    assert listed == list(GDB_OPTIONS), help_text  # each option once, with its help
    completions = completions.splitlines()
    for option in GDB_OPTIONS:
        assert "py-stackscope " + option in completions
        assert "py-stackscope thread " + option in completions
    assert "py-stackscope -json -ascii" in completions
    assert "py-stackscope thread 1" in completions
    assert [c for c in completions if c.startswith("py-stackscope -format ")] == [
        "py-stackscope -format flat", "py-stackscope -format json", "py-stackscope -format tree"]
    assert "Traceback" not in out + err, err


def test_object_help_and_completion(gdb, script, sleeper):
    rc, out, err, _ = run_gdb(gdb, ["-p", sleeper.pid] + gdb_commands(
        "source %s" % script, "help py-stackscope", "echo @@object-help\\n", "help py-stackscope object",
        "echo @@complete\\n", "complete py-stackscope ", "complete py-stackscope object -",
        "complete py-stackscope object 0x10 -format "))
    help_text, rest = out.split("@@object-help\n", 1)
    object_help, completions = rest.split("@@complete\n", 1)
    assert "py-stackscope object EXPR [EXPR...] [options]" in help_text
    assert "py-stackscope object -- " in help_text
    assert "Usage: py-stackscope object EXPR [EXPR...] [-format tree|flat|json | -flat | -json] [-ascii] " \
           "[-color auto|always|never] [-show-hidden] [-no-contexts] [-locals]\n" in object_help
    completions = completions.splitlines()
    assert "py-stackscope object" in completions and "py-stackscope thread" in completions
    options = [c.split()[-1] for c in completions if c.startswith("py-stackscope object -")]
    assert options == sorted(o for o in GDB_OPTIONS if o != "-native"), completions
    assert [c for c in completions if c.startswith("py-stackscope object 0x10 -format ")] == [
        "py-stackscope object 0x10 -format flat", "py-stackscope object 0x10 -format json",
        "py-stackscope object 0x10 -format tree"]
    assert "Traceback" not in out + err, err


@pytest.mark.parametrize("command, own_text", [
    ("tasks", ()),
    ("locks", ("The CLI's --locks", "Deadlock: 2 threads")),
])
def test_subcommand_help_and_completion(gdb, script, sleeper, command, own_text):
    """`tasks` and `locks`: listed in the command's help, their own help with the usage and no
    -tasks/-locks option (the CLI's option is this command), completed with every option."""
    rc, out, err, _ = run_gdb(gdb, ["-p", sleeper.pid] + gdb_commands(
        "source %s" % script, "help py-stackscope", "echo @@sub-help\\n", "help py-stackscope " + command,
        "echo @@complete\\n", "complete py-stackscope ", "complete py-stackscope %s -" % command))
    help_text, rest = out.split("@@sub-help\n", 1)
    sub_help, completions = rest.split("@@complete\n", 1)
    prefix = "py-stackscope " + command
    assert prefix + " [options]" in help_text and prefix + " -- " in help_text, help_text
    usage = ("[-format tree|flat|json | -flat | -json] [-ascii] [-color auto|always|never] [-show-hidden] [-no-contexts] "
             "[-locals] [-native]")
    assert "Usage: " + prefix + " " + usage + "\n" in sub_help, sub_help
    assert all(text in sub_help for text in own_text), sub_help
    assert not re.search(r"^\s*-%s|\[-%s\]" % (command, command), sub_help + help_text, re.M)
    completions = completions.splitlines()
    assert prefix in completions, completions
    options = [c.split()[-1] for c in completions if c.startswith(prefix + " -")]
    assert options == sorted(GDB_OPTIONS), completions
    assert "Traceback" not in out + err, err


STOPPING_PROGRAM = """
import os, signal

def stop_here(n):
    os.kill(os.getpid(), signal.SIGUSR1)  # gdb stops here and does not pass the signal on

def main():
    stop_here(1)
    stop_here(2)

main()
"""


def test_one_extraction_per_stop(gdb, script, python, tmp_path):
    """py-stackscope, its -json and bt (the frame filter) in one stop read the inferior once;
    after the inferior resumed and stopped again, once more."""
    program = tmp_path / "stopping.py"
    program.write_text(STOPPING_PROGRAM)
    count = 'python print("@@extractions %d@@" % stackscope_gdb.extractions)'
    rc, out, err, _ = run_gdb(gdb, [python] + gdb_commands(
        "set args %s" % program, "handle SIGUSR1 stop print nopass", "run", "source %s" % script,
        "python import stackscope_gdb", count, "py-stackscope", "py-stackscope -json", "bt", count,
        "continue", "py-stackscope -json", "bt", count))
    assert re.findall(r"@@extractions (\d+)@@", out) == ["0", "1", "2"], out + err
    first, second = out.split("@@extractions 1@@")
    for text, n in ((first, 1), (second, 2)):
        bt = text[text.index("\n#0 ") + 1:]
        functions = [python[0] for _, frames in parse_bt(bt.split("@@")[0]) for python in frames]
        assert functions[:2] == ["stop_here", "main"], "stop %d: %s\n%s" % (n, bt, err)
    assert '"name": "stop_here"' in first and '"name": "stop_here"' in second, out
    assert "Traceback" not in out + err, err


@pytest.mark.parametrize("interp", interpreter_params(lambda i: i.version >= (3, 13)), indirect=True, scope="session")
def test_unsupported_runtime_is_one_line(gdb, script, python, core_dump, tmp_path):
    """A free-threaded runtime (the scenario's core with the _Py_DebugOffsets flag set, as
    test_unsupported_runtime.py does it) is refused in one line."""
    rc, out, err, _ = run_gdb(gdb, [python, core_dump] + gdb_commands(
        'python print("@@runtime %d@@" % int(gdb.parse_and_eval("(unsigned long)&_PyRuntime")))'))
    address = int(re.search(r"@@runtime (\d+)@@", out).group(1))
    patched = patched_copy(core_dump, address, 16, struct.pack("<Q", 1), tmp_path)
    rc, out, err, _ = run_gdb(gdb, [python, patched] + gdb_commands("source %s" % script, "py-stackscope"))
    errors = [line for line in err.splitlines() if line.startswith("py-stackscope")]
    assert len(errors) == 1 and re.fullmatch(r"py-stackscope: Python 3\.\d+t \(0x30[0-9a-f]{5}\) is not supported.*",
                                             errors[0]), err
    assert "Traceback" not in out + err


# ---- a core whose files here are another build's -------------------------------------------

def shared_libpython_interpreter():
    """(python, its libpython3.X.so.1.0) of the first pyenv interpreter that maps one, else None."""
    for interp in INTERPRETERS:
        if not interp.pyenv_version:
            continue
        path, _ = interp.locate()
        if path is None:
            continue
        lib = Path(path).resolve().parents[1] / "lib" / ("libpython%d.%d.so.1.0" % interp.version)
        if lib.is_file():
            return Path(path), lib
    return None


def test_core_with_another_build_here_is_read_through_gdb(gdb, script, tool, tmp_path):
    """A core taken where its libpython was one build, read where the same path holds another
    (another machine's libraries, found right by gdb's sysroot): stackscope's own reading refuses
    the file (exit 5 in the CLI), and py-stackscope reads the core as gdb does instead of failing."""
    found = shared_libpython_interpreter()
    if found is None:
        pytest.skip("!!! NO PYENV INTERPRETER WITH A SHARED LIBPYTHON: the case needs one")
    python, lib = found
    mapped = tmp_path / "lib"
    mapped.mkdir()
    shutil.copy(lib, mapped / lib.name)
    sysroot = tmp_path / "sysroot"
    (sysroot / mapped.relative_to("/")).mkdir(parents=True)
    shutil.copy(lib, sysroot / mapped.relative_to("/") / lib.name)
    program = tmp_path / "sleeper.py"
    program.write_text("import time\n\n\ndef sleeper():\n    time.sleep(1000)\n\n\nprint('ready', flush=True)\nsleeper()\n")
    proc = spawn([python, program], env=clean_env(LD_LIBRARY_PATH=str(mapped)), stdout=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        wait_until_all_sleeping(proc.pid)
        core = make_core(proc.pid, tmp_path / "core")
    finally:
        kill_group(proc)
    # Any ELF file with another build id stands for the other build.
    (mapped / lib.name).unlink()
    shutil.copy("/bin/true", mapped / lib.name)

    cli = run_tool(tool, ["core", core])
    assert cli.returncode == 5 and "is not the file the core mapped at" in cli.stderr, describe(cli)
    returncode, stdout, stderr, _ = run_gdb(
        gdb, ["-iex", "set sysroot %s" % sysroot, python, core, "-ex", "source %s" % script, "-ex", "py-stackscope"])
    assert "sleeper in __main__ at %s:5" % program in stdout, (returncode, stdout[-3000:], stderr[-3000:])
    assert "not the file the core mapped" not in stdout + stderr, (stdout[-3000:], stderr[-3000:])
