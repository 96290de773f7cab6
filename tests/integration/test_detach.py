"""After `stackscope pid`, the target is detached and runs, even when the tool gets SIGTERM."""
import os
import signal
import subprocess
import time

import pytest

from harness import ScenarioProcess, clean_env, describe, kill_group, run_tool, spawn, task_status

pytestmark = pytest.mark.column("detach")


@pytest.fixture
def fresh_scenario(python, tmp_path):
    """A scenario process of its own: these tests may break it."""
    target = ScenarioProcess(python, tmp_path).start()
    yield target
    target.stop()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.01)


def untraced_and_running(pid):
    """[] when no thread has a tracer or is in a stop; else the offending tasks."""
    return [
        (tid, s) for tid, s in task_status(pid).items() if s["TracerPid"] != 0 or s["State"][0] in "tT"
    ]


def test_sigterm_while_target_stopped(hooks_tool, fresh_scenario, tmp_path):
    pid = fresh_scenario.pid
    stderr_path = tmp_path / "stackscope.stderr"
    with open(stderr_path, "wb") as stderr:
        cli = spawn(
            [hooks_tool, "pid", pid], env=clean_env(STACKSCOPE_TEST_PAUSE_MS="5000"),
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    try:
        wait_for(lambda: any(s["TracerPid"] for s in task_status(pid).values()), 10, "the tool to attach")
        wait_for(lambda: all(s["State"][0] == "t" for s in task_status(pid).values()), 5, "all threads stopped")
        cli.send_signal(signal.SIGTERM)
        cli.wait(timeout=20)
    finally:
        kill_group(cli)
    assert cli.returncode == -signal.SIGTERM, stderr_path.read_text()
    assert untraced_and_running(pid) == []
    assert fresh_scenario.ping(), "target does not run its SIGUSR1 handler after detach"


def test_sigtstp_while_target_stopped_waits_for_the_detach(hooks_tool, fresh_scenario, tmp_path):
    """Job control (Ctrl-Z) while the target is stopped suspends the tool only once the target
    runs again, also with --tasks, whose helper thread is started while the target is stopped: a
    thread that did not hold the signal back took it, and the tool stopped with the target."""
    pid = fresh_scenario.pid
    stderr_path = tmp_path / "stackscope.stderr"
    # A process group of its own in this session: the kernel drops SIGTSTP sent to an orphaned
    # one (as spawn()'s new session would be), and the test would prove nothing.
    with open(stderr_path, "wb") as stderr:
        cli = subprocess.Popen([str(hooks_tool), "pid", str(pid), "--tasks"],
                               env=clean_env(STACKSCOPE_TEST_PAUSE_MS="3000"), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=stderr, process_group=0)
    try:
        wait_for(lambda: any(s["TracerPid"] for s in task_status(pid).values()), 10, "the tool to attach")
        wait_for(lambda: all(s["State"][0] == "t" for s in task_status(pid).values()), 5, "all threads stopped")
        cli.send_signal(signal.SIGTSTP)
        wait_for(lambda: untraced_and_running(pid) == [], 20, "the target to be detached and run")
        cli.send_signal(signal.SIGCONT)
        cli.wait(timeout=20)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
            cli.wait()
    assert cli.returncode == 0, stderr_path.read_text()
    assert fresh_scenario.ping(), "target does not run its SIGUSR1 handler after detach"


def test_detached_after_normal_run(tool, scenario):
    result = run_tool(tool, ["pid", scenario.pid])
    assert result.returncode == 0, describe(result)
    assert untraced_and_running(scenario.pid) == []


def test_already_stopped_target_is_read_and_left_stopped(tool, fresh_scenario):
    pid = fresh_scenario.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: all(s["State"][0] == "T" for s in task_status(pid).values()), 5, "SIGSTOP to take effect")
        result = run_tool(tool, ["pid", pid, "--format", "json"])
        assert result.returncode == 0, describe(result)
        assert '"frames"' in result.stdout
        states = task_status(pid)
        assert all(s["State"][0] == "T" and s["TracerPid"] == 0 for s in states.values()), states
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for(lambda: untraced_and_running(pid) == [], 5, "the target to run again")
    assert fresh_scenario.ping()


def test_already_traced_target_is_refused(tool, hooks_tool, fresh_scenario):
    pid = fresh_scenario.pid
    first = spawn([hooks_tool, "pid", pid], env=clean_env(STACKSCOPE_TEST_PAUSE_MS="3000"),
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: any(s["TracerPid"] for s in task_status(pid).values()), 10, "the first tool to attach")
        second = run_tool(tool, ["pid", pid])
        assert second.returncode == 4, describe(second)
        assert "already traced by PID %d" % first.pid in second.stderr
        first.wait(timeout=20)
    finally:
        kill_group(first)
    assert first.returncode == 0
    assert untraced_and_running(pid) == []
