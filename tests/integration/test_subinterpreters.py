"""Subinterpreters (CPython 3.12+): the tool's JSON, live and from a core, lists every thread
of every interpreter with its interpreter id, name, ids and frames as the scenario
(scenarios/subinterpreters.py) recorded them from inside each interpreter.

A thread is identified by (interpreter_id, pthread_id): the scenario's sub-runner OS
thread has a thread state in the main interpreter and one in the subinterpreter.
Interpreters older than 3.12 get no parameter here (there is nothing to skip).
"""
import difflib
import json

import jsonschema
import pytest

from harness import ScenarioProcess, describe, make_core, run_tool, wait_until_all_sleeping
from interpreters import interpreter_params

MIN_VERSION = (3, 12)  # before 3.12 an isolated subinterpreter may not start threads


# Replaces conftest's parameters of `interp` for this module (same ids and xdist groups).
pytestmark = pytest.mark.parametrize(
    "interp",
    interpreter_params(lambda i: i.version >= MIN_VERSION),
    indirect=True,
    scope="session",
)


@pytest.fixture(scope="session")
def sub_scenario(python, interp, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("subinterpreters-%s-" % interp.label)
    target = ScenarioProcess(python, workdir, script="subinterpreters.py").start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def sub_truth(sub_scenario):
    """The scenario's truth, once its premise holds: a subinterpreter with a thread of its
    own and one it shares with the main interpreter."""
    truth = sub_scenario.truth
    idents = {}
    for t in truth["threads"]:
        idents.setdefault(t["interpreter_id"], set()).add(t["ident"])
    main, sub = truth["main_interpreter_id"], truth["sub_interpreter_id"]
    assert main == 0 and sub != main and set(idents) == {main, sub}, truth
    assert len(idents[sub]) == 2 and len(idents[main] & idents[sub]) == 1, truth
    return truth


@pytest.fixture(scope="session")
def sub_core(sub_scenario):
    core = make_core(sub_scenario.pid, sub_scenario.workdir / "core")
    wait_until_all_sleeping(sub_scenario.pid)
    yield core
    core.unlink()


@pytest.fixture
def sub_snapshot(request, mode, tool, tool_runs, sub_scenario, sub_truth, python):
    """The tool's JSON for the subinterpreter scenario in this mode (each run made once)."""
    if mode == "live":
        wait_until_all_sleeping(sub_scenario.pid)
        args = ["pid", sub_scenario.pid]
    else:
        args = ["core", request.getfixturevalue("sub_core"), "--executable", python]
    args += ["--format", "json"]
    key = (str(tool),) + tuple(str(a) for a in args)
    if key not in tool_runs:
        tool_runs[key] = run_tool(tool, args)
    result = tool_runs[key]
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def key_of_truth(thread):
    return (thread["interpreter_id"], thread["ident"])


def key_of_tool(thread):
    return (thread.get("interpreter_id"), thread["pthread_id"])


def paired_threads(snapshot, truth):
    """[(truth thread, tool thread or None)], matched by (interpreter id, pthread id)."""
    tool_threads = {key_of_tool(t): t for t in snapshot["threads"]}
    return [(t, tool_threads.get(key_of_truth(t))) for t in truth["threads"]]


def label(thread):
    return "interpreter %s thread %s (%s)" % (thread["interpreter_id"], thread["name"], thread["ident"])


def test_json_matches_schema(sub_snapshot, schema):
    jsonschema.Draft202012Validator(schema).validate(sub_snapshot)


def test_every_thread_of_every_interpreter(sub_snapshot, sub_truth):
    assert sorted(key_of_tool(t) for t in sub_snapshot["threads"]) == sorted(key_of_truth(t) for t in sub_truth["threads"])


def test_interpreter_ids(sub_snapshot, sub_truth):
    """The main interpreter is 0, the subinterpreter has the id it reported from inside."""
    def ids_by_name(threads):
        return sorted(((t["name"], t.get("interpreter_id")) for t in threads), key=repr)

    assert ids_by_name(sub_snapshot["threads"]) == ids_by_name(sub_truth["threads"])
    assert {t.get("interpreter_id") for t in sub_snapshot["threads"]} == {0, sub_truth["sub_interpreter_id"]}


def test_thread_names_match_truth(sub_snapshot, sub_truth):
    """Names come from each interpreter's own threading registry (renamed threads included)."""
    names = {t["name"] for t in sub_truth["threads"]}
    assert {"main-renamed", "main-worker", "sub-runner", "sub-main", "sub-worker"} <= names
    pairs = paired_threads(sub_snapshot, sub_truth)
    assert [(label(t), t["name"]) for t, _ in pairs] == [(label(t), m and m["name"]) for t, m in pairs]


def test_tid_is_native_id(sub_snapshot, sub_truth):
    pairs = paired_threads(sub_snapshot, sub_truth)
    assert [(label(t), t["native_id"]) for t, _ in pairs] == [(label(t), m and m["tid"]) for t, m in pairs]


def test_threads_read_in_full(sub_snapshot):
    assert [(t.get("interpreter_id"), t["tid"], t["error"]) for t in sub_snapshot["threads"] if t["error"] is not None] == []


def test_frames_match_truth(sub_snapshot, sub_truth):
    """name filename:line of every frame, outermost first, per thread of each interpreter."""
    def line(f):
        return "%s %s:%s" % (f["name"], f["filename"], f["line"])

    diffs = []
    for expected, actual in paired_threads(sub_snapshot, sub_truth):
        want = [line(f) for f in expected["frames"]]
        got = [line(f) for f in actual["frames"]] if actual else ["<thread missing>"]
        if want != got:
            diff = difflib.unified_diff(want, got, "truth", "stackscope", lineterm="", n=1)
            diffs.append("%s:\n%s" % (label(expected), "\n".join(diff)))
    if diffs:
        raise AssertionError("stackscope differs from truth:\n" + "\n".join(diffs))


def test_nobody_holds_a_gil_while_parked(sub_snapshot):
    """Each interpreter has its own GIL here; all of them are free while everyone is parked."""
    assert [(t.get("interpreter_id"), t["name"]) for t in sub_snapshot["threads"] if t["holds_gil"]] == []
