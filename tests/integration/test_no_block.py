"""`stackscope pid --no-block`: read without stopping the target (no ptrace), stacks that
change while read are retried and then reported; and the /proc/PID/mem read path."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import jsonschema
import pytest

from harness import (SCENARIO_DIR, clean_env, describe, kill_group, run_tool, spawn, spawn_until_ready, task_status,
                     wait_for_ready, wait_until_all_sleeping)
from test_asan import REPORT_MARKERS, SANITIZER_ENV

pytestmark = pytest.mark.column("no-block")

STRESS_THREADS = 3
STRESS_DEPTH = 200
STRESS_RUNS = 200  # per interpreter: about 8 s each


def json_of(result, codes=(0,)):
    assert result.returncode in codes, describe(result)
    return json.loads(result.stdout)


class StateWatcher:
    """Polls every thread's /proc state in the background: was any ever stopped or traced?"""

    def __init__(self, pid):
        self.pid = pid
        self.seen = set()
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                for status in task_status(self.pid).values():
                    self.seen.add((status["State"][0], status["TracerPid"]))
            except (FileNotFoundError, ProcessLookupError, KeyError):
                pass
            self.polls += 1
            time.sleep(0.001)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def stopped_or_traced(self):
        return sorted(s for s in self.seen if s[0] in "tT" or s[1] != 0)


def test_no_block_equals_stopped_read(tool, scenario, schema):
    """On parked threads, reading without stopping gives exactly the stopped read (tids included:
    before 3.11 they come from glibc's struct pthread, there being no fs_base)."""
    stopped = json_of(run_tool(tool, ["pid", scenario.pid, "--format", "json"]))
    wait_until_all_sleeping(scenario.pid)  # back in their blocking calls, as the kernel shows them
    running = json_of(run_tool(tool, ["pid", scenario.pid, "--no-block", "--format", "json"]))
    jsonschema.Draft202012Validator(schema).validate(running)
    assert running == stopped
    assert all(t["tid"] for t in running["threads"]), running


def test_no_block_never_stops_or_traces(hooks_tool, scenario):
    env = clean_env(STACKSCOPE_TEST_PAUSE_MS="700")  # held inside the read, where a stop would show
    with StateWatcher(scenario.pid) as watcher:
        result = run_tool(hooks_tool, ["pid", scenario.pid, "--no-block", "--format", "json"], env=env)
    assert result.returncode == 0, describe(result)
    assert watcher.polls > 20
    assert watcher.stopped_or_traced() == []


def test_no_block_read_ends_at_once_on_sigterm(hooks_tool, scenario):
    """Nothing is stopped with --no-block, so termination signals are not held back: SIGTERM
    ends a read held open for a minute at once."""
    cli = spawn([hooks_tool, "pid", scenario.pid, "--no-block"], env=clean_env(STACKSCOPE_TEST_PAUSE_MS="60000"),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # inside the read's pause
        cli.send_signal(signal.SIGTERM)
        cli.wait(timeout=10)
    finally:
        kill_group(cli)
    assert cli.returncode == -signal.SIGTERM


def read_syscalls(tool, pid, env, *options):
    """Runs the tool under strace: (its JSON, {syscall: count} of the memory reads)."""
    if not shutil.which("strace"):
        pytest.skip("!!! STRACE MISSING (scripts/install-deps.sh installs it)")
    wait_until_all_sleeping(pid)  # after an earlier stopped read, back in their blocking calls
    result = subprocess.run(
        ["strace", "-f", "-qq", "-c", "-e", "trace=process_vm_readv,pread64", "-o", "/dev/stderr", str(tool), "pid", str(pid),
         "--format", "json"] + list(options),
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, describe(result)
    counts = {m.group(2): int(m.group(1)) for m in re.finditer(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$",
                                                                result.stderr, re.M)}
    return json.loads(result.stdout), counts


@pytest.mark.parametrize("options", [[], ["--no-block"]], ids=["stopped", "no-block"])
def test_proc_mem_read_path(tool, hooks_tool, scenario, options):
    """The /proc/PID/mem path (taken when process_vm_readv fails) reads the same, stopped and not."""
    normal, normal_calls = read_syscalls(tool, scenario.pid, clean_env(), *options)
    assert normal_calls.get("process_vm_readv", 0) > 10, normal_calls
    forced, forced_calls = read_syscalls(hooks_tool, scenario.pid, clean_env(STACKSCOPE_TEST_PROC_MEM="1"), *options)
    assert forced == normal
    assert "process_vm_readv" not in forced_calls and forced_calls.get("pread64", 0) > 10, forced_calls


@pytest.fixture
def spinner(python, tmp_path):
    fifo = tmp_path / "ready.fifo"
    os.mkfifo(fifo)
    proc = spawn([python, "-u", SCENARIO_DIR / "deep_spinner.py", fifo, STRESS_THREADS, STRESS_DEPTH])
    try:
        wait_for_ready(proc, fifo, 30)
        time.sleep(0.2)
        yield proc
    finally:
        kill_group(proc)


SPINNER_FUNCTIONS = {"<module>", "main", "sleep", "spin", "descend", "_bootstrap", "_bootstrap_inner", "run"}


@pytest.mark.timeout(900)
def test_no_block_stress(tool, spinner, schema):
    """Threads recursing 200 deep and back, forever: every run exits 0 or 1 in time with
    well-formed JSON; a successful thread is a real stack; the target is never stopped."""
    runs = STRESS_RUNS
    validator = jsonschema.Draft202012Validator(schema)
    outcomes = {0: 0, 1: 0}
    deep_spinner_reads = 0  # spinner threads read in full: those waiting for the GIL hold still
    with StateWatcher(spinner.pid) as watcher:
        for run in range(runs):
            result = run_tool(tool, ["pid", spinner.pid, "--no-block", "--format", "json"], timeout=20)
            assert result.returncode in (0, 1), "run %d: %s" % (run, describe(result))
            outcomes[result.returncode] += 1
            snapshot = json.loads(result.stdout)
            validator.validate(snapshot)
            assert len(snapshot["threads"]) == STRESS_THREADS + 1, snapshot
            errors = [t["error"] for t in snapshot["threads"] if t["error"]]
            if result.returncode == 1:
                assert errors and all("changed while it was read" in e for e in errors), errors
            for thread in snapshot["threads"]:
                assert thread["tid"], thread
                if thread["error"]:
                    continue
                names = [f["name"] for f in thread["frames"]]
                assert set(names) <= SPINNER_FUNCTIONS, names
                if thread["name"] and thread["name"].startswith("spinner-"):
                    assert names[:4] == ["_bootstrap", "_bootstrap_inner", "run", "spin"], names
                    assert len(names) <= 4 + STRESS_DEPTH + 1, names
                    deep_spinner_reads += 1
    assert spinner.poll() is None, "the target died"
    assert watcher.stopped_or_traced() == []
    # Exit 1 is allowed (the GIL holder may never hold still), but the threads that wait for the
    # GIL must be read: a check that rejected every running read would fail here.
    assert deep_spinner_reads >= runs, (deep_spinner_reads, outcomes)


@pytest.mark.timeout(600)
def test_no_block_stress_sanitizers(asan_tool, spinner, schema):
    """The ASan/UBSan build, reading the spinning threads without stopping them."""
    for run in range(10):
        result = run_tool(asan_tool, ["pid", spinner.pid, "--no-block", "--format", "json"],
                          env=clean_env(**SANITIZER_ENV), timeout=60)
        assert result.returncode in (0, 1), "run %d: %s" % (run, describe(result))
        assert not [m for m in REPORT_MARKERS if m in result.stderr], describe(result)
        jsonschema.Draft202012Validator(schema).validate(json.loads(result.stdout))
    assert spinner.poll() is None


def test_no_block_threads_coming_and_going(tool, python, schema, tmp_path):
    """Threads start and exit while their list is read without stopping anything: every run
    ends with 0 or 1 and well-formed JSON, and the target runs on."""
    fifo = tmp_path / "churn.fifo"
    proc = spawn_until_ready([python, SCENARIO_DIR / "thread_churn.py", fifo], fifo)
    try:
        with StateWatcher(proc.pid) as watcher:
            for run in range(50):
                result = run_tool(tool, ["pid", proc.pid, "--no-block", "--format", "json"], timeout=20)
                assert result.returncode in (0, 1), "run %d: %s" % (run, describe(result))
                snapshot = json.loads(result.stdout)
                jsonschema.Draft202012Validator(schema).validate(snapshot)
                assert any(t["name"] == "MainThread" for t in snapshot["threads"]), describe(result)
        assert proc.poll() is None, "the target died"
        assert watcher.stopped_or_traced() == []
    finally:
        kill_group(proc)
