"""The truth scenarios from cores the kernel wrote, on the builds whose glibc (>= 2.41) puts
guard pages inside thread stacks (Interpreter.kernel_cores: Debian's 3.13.18 and the debug
builds). gdb's gcore loses those stacks and harness.make_core refills them from the live
process; here each scenario is ended with SIGABRT instead and the kernel's own dump is read:
the parked threads (names, ids, frames, functions, modules), the exceptions threads handle,
the subinterpreters' threads, and the GIL held by a spinning thread; and gdb's and lldb's
front-ends on the parked threads' core, whose JSON must equal the CLI's. One process and one
core per scenario and build, deleted once read."""
import json
import os
import subprocess
import time

import pytest

from gdb_frontend import gdb_program, gdb_script, run_session
from harness import SCENARIO_DIR, ScenarioProcess, describe, dump_by_kernel, enable_core_dumps, \
    is_bootstrap, kernel_core_pattern, kill_group, run_tool, spawn, wait_for_ready, without_process
from interpreters import interpreter_params
from lldb_frontend import Command, find_lldb, plugin_path, quote, run_lldb
from test_gil import holders
from test_handled_exceptions import handling_by_name
from test_snapshot import assert_frames_match
from test_subinterpreters import key_of_tool, key_of_truth, label

pytestmark = [
    pytest.mark.parametrize("interp", interpreter_params(lambda i: i.kernel_cores), indirect=True, scope="session"),
    pytest.mark.column("kernel-core"),
]


@pytest.fixture(scope="session")
def kernel_core_of(python, interp, tmp_path_factory):
    """kernel_core_of(script): (core, truth) of the scenario `script` ended by SIGABRT; each made
    once per build, the core deleted at the end of the session."""
    pattern = kernel_core_pattern()
    if pattern.startswith("|"):
        pytest.skip("!!! KERNEL CORES UNAVAILABLE: core_pattern pipes cores to %s" % pattern)
    made = {}

    def make(script):
        if script not in made:
            workdir = tmp_path_factory.mktemp("kernel-core-%s-%s-" % (interp.label, script.split(".")[0]))
            scenario = ScenarioProcess(python, workdir, script=script, kernel_cores=True).start()
            try:
                made[script] = (scenario.dump_by_kernel(), scenario.truth)
            finally:
                scenario.stop()
        return made[script]

    yield make
    for core, _ in made.values():
        core.unlink()


def read(tool, core, python):
    result = run_tool(tool, ["core", core, "--executable", python, "--format", "json"])
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def test_parked_threads(tool, python, kernel_core_of):
    core, truth = kernel_core_of("parked_threads.py")
    snapshot = read(tool, core, python)
    assert (snapshot["python_version"], snapshot["pid"]) == (truth["python_version"], truth["pid"])
    assert snapshot["process"]["fatal_signal"]["name"] == "SIGABRT"
    assert sorted(t["pthread_id"] for t in snapshot["threads"]) == sorted(t["ident"] for t in truth["threads"])
    assert [(t["tid"], t["error"]) for t in snapshot["threads"] if t["error"] is not None] == []
    by_ident = {t["pthread_id"]: t for t in snapshot["threads"]}
    assert [(t["name"], t["native_id"]) for t in truth["threads"]] == \
        [(by_ident[t["ident"]]["name"], by_ident[t["ident"]]["tid"]) for t in truth["threads"]]
    assert_frames_match(snapshot, truth, lambda f: "%s %s:%s %s %s" % (f["name"], f["filename"], f["line"],
                                                                        f["function"], f["module"]),
                        lambda f: "%s %s:%s %s %s" % (f["name"], f["filename"], f["line"], f["function"], f["module"]))
    assert_frames_match(snapshot, truth, lambda f: "%s hidden=%s" % (f["name"], is_bootstrap(f, truth)),
                        lambda f: "%s hidden=%s" % (f["name"], f["hidden"]))


def test_gdb_json_equals_cli(tool, python, kernel_core_of):
    core, truth = kernel_core_of("parked_threads.py")
    snapshot = read(tool, core, python)
    workdir = core.parent / "gdb"
    workdir.mkdir(exist_ok=True)
    session = run_session(gdb_program(), gdb_script(), [python, core], workdir, truth["threads"][0]["native_id"],
                          commands=[("json", "py-stackscope -json")])
    assert session.result, "the driver did not finish\n" + session.describe()
    expected = without_process(snapshot)
    numbers = session.thread_numbers()
    for thread in expected["threads"]:
        thread["debugger_thread"] = numbers[thread["tid"]]
    assert json.loads(session.output("json")) == expected


def test_lldb_json_equals_cli(tool, python, kernel_core_of):
    lldb, plugin = find_lldb(), plugin_path()
    if lldb is None or not plugin.is_file():
        pytest.skip("!!! LLDB OR ITS PLUGIN MISSING: %s, %s" % (lldb, plugin))
    core, truth = kernel_core_of("parked_threads.py")
    snapshot = read(tool, core, python)
    run = run_lldb(lldb, plugin, core.parent, "kernel-core", ["target create %s --core %s" % (quote(python), quote(core))],
                   [Command("json", "stackscope all-threads --json")])
    assert run.returncode == 0 and run.results, run.describe()
    expected = without_process(snapshot)
    assert "crash" in expected["threads"][0] and sum("crash" in t for t in expected["threads"]) == 1, expected
    for thread in expected["threads"]:
        thread["debugger_thread"] = run.threads[thread["tid"]]
    assert json.loads(run.result("json")) == expected


def test_handled_exceptions(tool, python, kernel_core_of):
    core, truth = kernel_core_of("handled_exceptions.py")
    assert truth["nested-class"]["handling"] == {"type": "Outer.Inner", "message": "boom"}, truth
    seen = handling_by_name(read(tool, core, python), truth)
    assert seen == {name: t["handling"] for name, t in truth.items()}


def test_subinterpreters(tool, python, kernel_core_of):
    core, truth = kernel_core_of("subinterpreters.py")
    assert truth["sub_interpreter_id"] != truth["main_interpreter_id"] == 0, truth
    snapshot = read(tool, core, python)
    by_key = {key_of_tool(t): t for t in snapshot["threads"]}
    assert sorted(by_key) == sorted(key_of_truth(t) for t in truth["threads"])
    for want in truth["threads"]:
        got = by_key[key_of_truth(want)]
        assert got["error"] is None, label(want)
        assert (got["name"], got["tid"]) == (want["name"], want["native_id"]), label(want)
        assert [(f["name"], f["filename"], f["line"]) for f in got["frames"]] == \
            [(f["name"], f["filename"], f["line"]) for f in want["frames"]], label(want)


def test_spinning_thread_holds_the_gil(tool, python, interp, tmp_path_factory):
    if kernel_core_pattern().startswith("|"):
        pytest.skip("!!! KERNEL CORES UNAVAILABLE: core_pattern pipes cores to %s" % kernel_core_pattern())
    workdir = tmp_path_factory.mktemp("kernel-core-%s-gil-" % interp.label)
    fifo = workdir / "ready.fifo"
    os.mkfifo(fifo)
    proc = spawn([python, SCENARIO_DIR / "gil_spinner.py", fifo], cwd=str(workdir), preexec_fn=enable_core_dumps,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_ready(proc, fifo, 30)
        time.sleep(0.2)  # let the spinner take the GIL
        core = dump_by_kernel(proc, workdir)
    finally:
        kill_group(proc)
    try:
        result = run_tool(tool, ["core", core, "--executable", python, "--format", "json"])
    finally:
        core.unlink()
    assert holders(result) == {"MainThread": False, "spinner": True}
