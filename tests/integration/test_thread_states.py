"""Per-thread state, live and in cores, for every interpreter: idle in which system call,
running, waiting for the GIL, in garbage collection, finalizing the interpreter, and the
exception being handled.  The scenario is scenarios/thread_states.py."""
import json
import time

import jsonschema
import pytest

from harness import (SCENARIO_DIR, describe, kill_group, make_core, run_tool, spawn_until_ready, task_status,
                     wait_until_all_sleeping)

SCRIPT = SCENARIO_DIR / "thread_states.py"
# time.sleep: select() up to 3.10 (glibc may route it through pselect6), clock_nanosleep from 3.11.
SLEEP_CALLS = {(3, 8): {"select", "pselect6"}, (3, 9): {"select", "pselect6"}, (3, 10): {"select", "pselect6"}}
SPIN_SAMPLES = 20  # a live stop can land in a GIL hand-off; one clean sample among these must show
CORE_SAMPLES = 3   # the holder running and the other spinner waiting for the GIL


def sleep_calls(interp):
    return SLEEP_CALLS.get(interp.version, {"clock_nanosleep"})


class Scenario:
    def __init__(self, python, workdir, mode):
        self.python, self.workdir, self.mode = python, workdir, mode
        self.truth_path = workdir / "truth.json"
        fifo = workdir / "ready.fifo"
        self.proc = spawn_until_ready([python, SCRIPT, mode, self.truth_path, fifo], fifo)
        self.truth = json.loads(self.truth_path.read_text())
        self.cores = []

    @property
    def pid(self):
        return self.proc.pid

    def wait_parked(self, names):
        """Until the named threads sleep in the kernel (two polls in a row)."""
        tids = {self.truth[name] for name in names}
        settled, deadline = 0, time.monotonic() + 20
        while settled < 2:
            states = task_status(self.pid)
            settled = settled + 1 if all(states.get(tid, {}).get("State", "?")[0] == "S" for tid in tids) else 0
            assert time.monotonic() < deadline, "threads never parked: %s" % states
            time.sleep(0.02)

    def wait_idle(self, tool, names):
        """Until the named threads sit in their own waits: after being parked, a thread may still
        be waiting for the spinners' GIL on its way into Event.wait()."""
        for _ in range(100):
            threads = by_tid(self.read(tool, "live"))
            if all(threads[self.truth[name]]["activity"] == "idle" for name in names):
                return
            time.sleep(0.05)

    def read(self, tool, how, *options):
        """The tool's output (JSON unless options say otherwise) for the live process or a fresh core."""
        if how == "live":
            args = ["pid", self.pid]
        else:
            core = make_core(self.pid, self.workdir / ("core%d" % len(self.cores)))
            self.cores.append(core)
            args = ["core", core, "--executable", self.python]
        result = run_tool(tool, args + (list(options) or ["--format", "json"]))
        assert result.returncode == 0, describe(result)
        return result.stdout if options else json.loads(result.stdout)

    def stop(self):
        kill_group(self.proc)
        for core in self.cores:
            core.unlink()


@pytest.fixture(scope="session")
def state_scenarios(python, interp, tmp_path_factory):
    started = {}

    def get(mode):
        if mode not in started:
            started[mode] = Scenario(python, tmp_path_factory.mktemp("states-%s-%s-" % (mode, interp.label)), mode)
        return started[mode]

    yield get
    for scenario in started.values():
        scenario.stop()


def by_tid(snapshot):
    return {t["tid"]: t for t in snapshot["threads"]}


def state(thread):
    return (thread["activity"], thread["syscall"], thread["in_gc"], thread["finalizing"], thread["handling"])


def test_idle_threads_and_handled_exceptions(tool, interp, mode, state_scenarios, schema):
    scenario = state_scenarios("threads")
    scenario.wait_parked(["MainThread", "sleeper", "handler", "nested-handler"])
    scenario.wait_idle(tool, ["MainThread", "sleeper", "handler", "nested-handler"])
    snapshot = scenario.read(tool, mode)
    jsonschema.Draft202012Validator(schema).validate(snapshot)
    threads = by_tid(snapshot)
    truth = scenario.truth
    sleeper = threads[truth["sleeper"]]
    assert sleeper["activity"] == "idle" and sleeper["syscall"] in sleep_calls(interp), sleeper
    futex_idle = ("idle", "futex", False, False)
    assert state(threads[truth["MainThread"]]) == futex_idle + (None,)
    assert state(threads[truth["handler"]]) == futex_idle + ({"type": "ValueError", "message": "boom"},)
    # Inside a generator that handles nothing, the caller's `except KeyError` is what is handled.
    assert state(threads[truth["nested-handler"]]) == futex_idle + ({"type": "KeyError", "message": "missing"},)
    for name in ("spinner-1", "spinner-2"):
        assert state(threads[truth[name]])[2:] == (False, False, None)


def spinners(snapshot, truth):
    threads = by_tid(snapshot)
    return [(threads[truth[name]]["activity"], threads[truth[name]]["holds_gil"]) for name in ("spinner-1", "spinner-2")]


def test_spinning_threads_run_or_wait_for_the_gil(tool, mode, state_scenarios):
    """At every stop each spinner runs or waits for the GIL; in one without a hand-off in
    flight, the GIL holder runs and the other waits for it."""
    scenario = state_scenarios("threads")
    seen = []
    for _ in range(SPIN_SAMPLES if mode == "live" else CORE_SAMPLES):
        sample = spinners(scenario.read(tool, mode), scenario.truth)
        seen.append(sample)
        assert all(activity in ("running", "waiting_for_gil") for activity, _ in sample), seen
        if sorted(sample) == [("running", True), ("waiting_for_gil", False)]:
            return
        time.sleep(0.05)
    pytest.fail("never one spinner running with the GIL and the other waiting for it: %s" % seen)


@pytest.mark.column("text")
def test_text_headers_show_the_state(tool, interp, state_scenarios):
    scenario = state_scenarios("threads")
    scenario.wait_parked(["MainThread", "sleeper", "handler"])
    scenario.wait_idle(tool, ["MainThread", "sleeper", "handler"])
    headers = {line.split()[1]: line for line in scenario.read(tool, "live", "--format", "tree").splitlines()
               if line.startswith("Thread ")}
    truth = scenario.truth
    assert headers[str(truth["handler"])] == 'Thread %d "handler" (idle in futex) (handling ValueError: boom):' % truth["handler"]
    assert headers[str(truth["sleeper"])] in ['Thread %d "sleeper" (idle in %s):' % (truth["sleeper"], call)
                                              for call in sleep_calls(interp)]


def test_garbage_collection(tool, interp, mode, state_scenarios):
    """gc.collect() on the main thread runs a finalizer that parks: the main thread is in GC."""
    scenario = state_scenarios("gc")
    wait_until_all_sleeping(scenario.pid)
    threads = by_tid(scenario.read(tool, mode))
    main, sleeper = threads[scenario.truth["MainThread"]], threads[scenario.truth["sleeper"]]
    assert state(main) == ("idle", "futex", True, False, None)
    assert "Cycle.__del__" in [f["function"] for f in main["frames"]], main["frames"]
    assert sleeper["activity"] == "idle" and sleeper["syscall"] in sleep_calls(interp)
    assert (sleeper["in_gc"], sleeper["finalizing"]) == (False, False)


def test_finalizing(tool, interp, mode, state_scenarios):
    """A __del__ run while the interpreter clears modules at exit parks in time.sleep."""
    scenario = state_scenarios("finalizing")
    wait_until_all_sleeping(scenario.pid)
    snapshot = scenario.read(tool, mode)
    assert len(snapshot["threads"]) == 1, snapshot
    thread = snapshot["threads"][0]
    assert thread["tid"] == scenario.truth["MainThread"]
    assert thread["finalizing"] is True
    assert thread["activity"] == "idle" and thread["syscall"] in sleep_calls(interp), thread
    assert thread["frames"][-1]["function"] == "FinalParker.__del__"
