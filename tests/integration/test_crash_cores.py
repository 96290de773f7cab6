"""Cores the kernel wrote for a crash (SIGSEGV, SIGABRT; on the main thread and on another):
the faulting thread and its signal come first and are marked, the process is named, and every
thread's stack, the crashing line included, equals the truth the scenario wrote; lldb's
front-end names and orders the threads as the CLI does."""
import json
import re
import signal
import subprocess

import jsonschema
import pytest

from harness import SCENARIO_DIR, describe, enable_core_dumps, kernel_core_pattern, kill_group, run_tool, spawn, \
    without_process
from lldb_frontend import Command, find_lldb, plugin_path, quote, run_lldb

pytestmark = pytest.mark.column("crash")

CASES = [("segv", "main"), ("abort", "main"), ("segv", "thread"), ("abort", "thread")]
SIGNALS = {"segv": signal.SIGSEGV, "abort": signal.SIGABRT}
PRPSINFO_ARGS = 79  # the kernel keeps this many bytes of the command line
SI_TKILL = -6
SEGV_MAPERR = 1


@pytest.fixture(scope="session")
def crash_cores():
    return {}


@pytest.fixture(params=CASES, ids=["%s-%s" % case for case in CASES])
def crash(request, python, interp, crash_cores, tmp_path_factory):
    """(core, truth, argv) of the scenario crashed in this way, made once per session."""
    pattern = kernel_core_pattern()
    if pattern.startswith("|"):
        pytest.skip("!!! KERNEL CORES UNAVAILABLE: core_pattern pipes cores to %s" % pattern)
    how, where = request.param
    key = (interp.label, how, where)
    if key not in crash_cores:
        workdir = tmp_path_factory.mktemp("crash-%s-%s-%s-" % key)
        argv = [str(python), str(SCENARIO_DIR / "crash_threads.py"), str(workdir / "truth.json"), how, where]
        with open(workdir / "scenario.log", "wb") as log:
            proc = spawn(argv, cwd=str(workdir), stdout=log, stderr=subprocess.STDOUT, preexec_fn=enable_core_dumps)
        try:
            returncode = proc.wait(timeout=120)
        finally:
            kill_group(proc)
        cores = [p for p in workdir.iterdir() if re.fullmatch(r"core(\.\d+)?", p.name)]
        log_text = (workdir / "scenario.log").read_text(errors="replace")[-2000:]
        assert returncode == -SIGNALS[how], "scenario exited with %s: %s" % (returncode, log_text)
        assert len(cores) == 1, "no core in %s (core_pattern %r): %s" % (workdir, pattern, log_text)
        crash_cores[key] = (cores[0], json.loads((workdir / "truth.json").read_text()), argv)
    return crash_cores[key] + (how, where)


@pytest.fixture
def crash_json(tool, crash):
    core, truth, argv, how, where = crash
    result = run_tool(tool, ["core", core, "--format", "json"])
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def test_crash_json_matches_schema(crash_json, schema):
    jsonschema.Draft202012Validator(schema).validate(crash_json)


def test_crashed_thread_first_and_marked(crash_json, crash):
    core, truth, argv, how, where = crash
    crasher = truth["crasher"]
    marked = [t["tid"] for t in crash_json["threads"] if "crash" in t]
    assert marked == [crasher["native_id"]]
    first = crash_json["threads"][0]
    assert (first["tid"], first["name"], first["pthread_id"]) == (crasher["native_id"], crasher["name"], crasher["ident"])
    signal_info = first["crash"]
    assert signal_info == crash_json["process"]["fatal_signal"]
    assert (signal_info["tid"], signal_info["signal"], signal_info["name"]) == (crasher["native_id"], SIGNALS[how], SIGNALS[how].name)
    if how == "segv":
        assert (signal_info["code"], signal_info["address"], signal_info["cause"]) == (SEGV_MAPERR, 0, "address not mapped")
    else:
        assert (signal_info["code"], signal_info["sender_pid"], signal_info["address"]) == (SI_TKILL, truth["pid"], None)


def test_process_info(crash_json, crash):
    core, truth, argv, how, where = crash
    process = crash_json["process"]
    assert process["pid"] == crash_json["pid"] == truth["pid"]
    assert (process["parent_pid"], process["uid"]) == (truth["parent_pid"], truth["uid"])
    assert process["executable"] == argv[0]
    assert process["command_line"] == " ".join(argv)[:PRPSINFO_ARGS].rstrip(" ")


def test_stacks_match_truth(crash_json, crash):
    """Every thread as the truth says; the crashed one down to its crash line (then, for the
    NULL read, ctypes' own Python frame that called into C)."""
    core, truth, argv, how, where = crash
    tool_threads = {t["pthread_id"]: t for t in crash_json["threads"]}
    assert sorted(tool_threads) == sorted(t["ident"] for t in truth["threads"])
    for expected in truth["threads"]:
        got = tool_threads[expected["ident"]]
        assert got["error"] is None, got
        want = [(f["name"], f["filename"], f["line"]) for f in expected["frames"]]
        have = [(f["name"], f["filename"], f["line"]) for f in got["frames"]]
        if expected["ident"] == truth["crasher"]["ident"]:
            have, extra = have[:len(want)], have[len(want):]
            assert all(f[1].endswith("ctypes/__init__.py") for f in extra) and (how == "segv") == bool(extra), extra
        assert have == want, expected["name"]


def crash_line_text(how):
    return {"segv": "ctypes.string_at(0)  # CRASH: segv", "abort": "os.abort()  # CRASH: abort"}[how]


@pytest.mark.parametrize("fmt", ["tree", "flat"])
def test_text_header_and_crashed_thread(tool, crash, fmt):
    core, truth, argv, how, where = crash
    result = run_tool(tool, ["core", core, "--format", fmt])
    assert result.returncode == 0, describe(result)
    lines = result.stdout.splitlines()
    crasher = truth["crasher"]
    assert lines[0] == "Process %d: %s" % (truth["pid"], " ".join(argv)[:PRPSINFO_ARGS].rstrip(" "))
    cause = "at 0x0 (address not mapped)" if how == "segv" else "(sent by tgkill() from pid %d)" % truth["pid"]
    assert lines[1] == "Killed by %s %s in thread %d" % (SIGNALS[how].name, cause, crasher["native_id"])
    assert lines[2] == ""
    marker = "SIGSEGV at 0x0" if how == "segv" else "SIGABRT"
    assert re.fullmatch(r'Thread %d "%s"( \(holds the GIL\))? \(crashed: %s\):' % (crasher["native_id"], crasher["name"], marker), lines[3]), lines[3]
    block = lines[3:lines.index("", 3)]
    assert any(line.endswith(crash_line_text(how)) for line in block), "\n".join(block)
    assert sum("(crashed:" in line for line in lines) == 1


# A fault on another thread than the main one (its address) and an abort on the main thread (its
# sender): one lldb session each per interpreter.
LLDB_CASES = [("segv", "thread"), ("abort", "main")]


@pytest.mark.parametrize("crash", LLDB_CASES, ids=["%s-%s" % case for case in LLDB_CASES], indirect=True)
def test_lldb_json_equals_cli(crash_json, crash, python):
    lldb, plugin = find_lldb(), plugin_path()
    if lldb is None or not plugin.is_file():
        pytest.skip("!!! LLDB OR ITS PLUGIN MISSING: %s, %s" % (lldb, plugin))
    core, truth, argv, how, where = crash
    run = run_lldb(lldb, plugin, core.parent, "crash", ["target create %s --core %s" % (quote(python), quote(core))],
                   [Command("json", "stackscope all-threads --json"), Command("tree", "stackscope all-threads")])
    assert run.returncode == 0 and run.results, run.describe()
    expected = without_process(crash_json)
    assert expected["threads"][0]["tid"] == truth["crasher"]["native_id"] and "crash" in expected["threads"][0]
    for thread in expected["threads"]:
        thread["debugger_thread"] = run.threads[thread["tid"]]
    assert json.loads(run.result("json")) == expected
    crasher = expected["threads"][0]
    marker = "SIGSEGV at 0x0" if how == "segv" else "SIGABRT"
    header = run.result("tree").splitlines()[0]
    assert re.fullmatch(r'thread #%d \(tid %d\) "%s"( \(holds the GIL\))? \(crashed: %s\):'
                        % (crasher["debugger_thread"], crasher["tid"], re.escape(crasher["name"]), marker), header), header


def test_gcore_core_has_no_fatal_signal(tool, core_dump, scenario, python):
    """A core gcore took of a running process names it but blames no signal."""
    result = run_tool(tool, ["core", core_dump, "--executable", python, "--format", "json"])
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)
    assert snapshot["process"]["fatal_signal"] is None
    assert snapshot["process"]["pid"] == scenario.pid
    assert [t["tid"] for t in snapshot["threads"] if "crash" in t] == []
    text = run_tool(tool, ["core", core_dump, "--executable", python]).stdout.splitlines()
    assert text[0].startswith("Process %d: " % scenario.pid) and text[1] == "", text[:3]
