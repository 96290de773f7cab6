"""Running the GDB front-end (build/gdb/stackscope-gdb.py) in `gdb -batch -nx`, and
reading what it printed.

One gdb session per interpreter and mode runs every command the tests need through a
driver script (gdb's Python): each command's output or error, gdb's threads, `bt` of every
thread with the frame filter on, and of one thread with it off, are written to a JSON file.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import REPO_ROOT, clean_env, task_status, wait_until_all_sleeping

GDB_ARGS = [
    "-nx", "-batch",
    "-iex", "set auto-load python-scripts off",  # pyenv's python3.X-gdb.py is not ours to load
    "-iex", "set debuginfod enabled off",  # no network, no question
]

# (key, command) run in every session, in this order; `{thread}` is gdb's number of the
# thread the test looks at in detail.
COMMANDS = [
    ("tree", "py-stackscope"),
    ("flat", "py-stackscope -flat"),
    ("json", "py-stackscope -json"),
    ("ascii_hidden", "py-stackscope -ascii -show-hidden"),
    ("native", "py-stackscope -native -show-hidden"),
    ("json_hidden", "py-stackscope -json -show-hidden"),
    ("json_no_contexts", "py-stackscope -json -no-contexts"),
    ("no_contexts", "py-stackscope -no-contexts"),
    ("json_ascii", "py-stackscope -json -ascii"),
    ("format_json", "py-stackscope -format json"),
    ("format_flat", "py-stackscope -format=flat -ascii"),
    ("thread_json", "py-stackscope thread {thread} -json"),
    ("thread_tree", "py-stackscope thread {thread}"),
    ("selected_thread", "py-stackscope thread"),
    ("no_such_thread", "py-stackscope thread 9999"),
    ("bad_option", "py-stackscope -bogus"),
    ("two_dashes", "py-stackscope --json"),
    ("two_formats", "py-stackscope -flat -json"),
    ("native_json", "py-stackscope thread -json -native"),
    # The stop is read again with the tasks (the scenario has no event loop).
    ("tasks", "py-stackscope tasks"),
    ("tasks_json", "py-stackscope tasks -json"),
    # And again with the locks (the lock-waiter's acquire(), the Condition waits).
    ("locks", "py-stackscope locks"),
    ("locks_json", "py-stackscope locks -json"),
    # Last: the stop is read again with the frames' variables, and `bt` then uses that read.
    ("locals", "py-stackscope -locals"),
    ("json_locals", "py-stackscope -json -locals"),
    ("tree_after_locals", "py-stackscope"),
]

# Runs inside gdb (`-x`), its parameters in the JSON file named by $STACKSCOPE_GDB_SESSION_PLAN.
DRIVER = Path(__file__).resolve().parent / "drivers" / "gdb_session.py"


def gdb_program():
    path = shutil.which("gdb")
    if path is None:
        pytest.skip("!!! GDB MISSING: no gdb on PATH")
    return path


def gdb_script():
    """The front-end's script: $STACKSCOPE_GDB_SCRIPT or build/gdb/stackscope-gdb.py."""
    path = Path(os.environ.get("STACKSCOPE_GDB_SCRIPT") or REPO_ROOT / "build" / "gdb" / "stackscope-gdb.py")
    if not path.is_file():
        pytest.skip("!!! GDB FRONT-END MISSING: %s (set $STACKSCOPE_GDB_SCRIPT or build it)" % path)
    return path


def run_gdb(gdb, arguments, timeout=300, env=None):
    """gdb -batch -nx ARGUMENTS, PYTHON* removed, `env` added: (returncode, stdout, stderr, seconds)."""
    started = time.monotonic()
    proc = subprocess.run(
        [gdb] + GDB_ARGS + [str(a) for a in arguments], env=clean_env(**(env or {})), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, errors="replace", timeout=timeout,
    )
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


@dataclass
class GdbSession:
    argv: list
    returncode: object
    stdout: str
    stderr: str
    seconds: float
    result: dict  # what the driver wrote, {} when it did not finish
    left_behind: list  # live only: threads traced or stopped right after gdb exited

    def describe(self):
        return "gdb %s (exit %s, %.1fs)\nstdout: %s\nstderr: %s" % (
            " ".join(str(a) for a in self.argv), self.returncode, self.seconds, self.stdout[-4000:], self.stderr[-4000:])

    def output(self, key):
        entry = self.result.get("commands", {}).get(key)
        assert entry is not None, "no result for %s\n%s" % (key, self.describe())
        assert entry["error"] is None, "%s failed: %s\n%s" % (key, entry["error"], self.describe())
        return entry["output"]

    def error(self, key):
        entry = self.result["commands"][key]
        assert entry["error"] is not None, "%s did not fail: %s" % (key, entry["output"])
        return entry["error"]

    def thread_numbers(self):
        """{lwp: gdb's thread number}."""
        return {t["lwp"]: t["num"] for t in self.result["threads"]}


def traced_or_stopped(pid):
    return [(tid, s) for tid, s in task_status(pid).items() if s["TracerPid"] != 0 or s["State"][0] in "tT"]


def run_session(gdb, script, target, workdir, detail_lwp, pid=None, commands=COMMANDS):
    """One gdb session on `target` (["-p", pid] or [executable, core]) running `commands`.
    For a live target (pid given) gdb detaches at the end; threads it left traced or
    stopped are reported and given a SIGCONT so the shared scenario stays usable."""
    workdir = Path(workdir)
    out = workdir / "result.json"
    plan = workdir / "plan.json"
    plan.write_text(json.dumps({"script": str(script), "out": str(out), "detail_lwp": detail_lwp, "commands": commands}))
    if out.exists():
        out.unlink()
    argv = list(target) + ["-x", DRIVER]
    if pid is not None:
        wait_until_all_sleeping(pid)
    try:
        returncode, stdout, stderr, seconds = run_gdb(gdb, argv, env={"STACKSCOPE_GDB_SESSION_PLAN": str(plan)})
    except subprocess.TimeoutExpired as timed_out:
        returncode, stdout, stderr, seconds = "timeout", str(timed_out.stdout or ""), str(timed_out.stderr or ""), 300.0
    left_behind = []
    if pid is not None:
        left_behind = traced_or_stopped(pid)
        if left_behind:
            deadline = time.monotonic() + 10
            while any(s["TracerPid"] for _, s in traced_or_stopped(pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(pid, signal.SIGCONT)
        wait_until_all_sleeping(pid)
    result = json.loads(out.read_text()) if out.exists() else {}
    return GdbSession([gdb] + GDB_ARGS + argv, returncode, stdout, stderr, seconds, result, left_behind)


# ---- reading the output ---------------------------------------------------------------

HEADER = re.compile(r"^Thread (?P<id>\S+)(?P<rest>.*)$")
GDB_HEADER = re.compile(r"^Thread (?P<num>\d+|\?) \((?P<ident>LWP (?P<lwp>\d+)|[^)]*)\)(?P<details>.*):$")


def without_headers(text):
    """The lines of a tree / flat listing without its `Thread ...` header lines."""
    return [line for line in text.splitlines() if not line.startswith("Thread ")]


def headers(text):
    return [line for line in text.splitlines() if line.startswith("Thread ")]


def blocks(text):
    """[(header line, [lines])] per thread."""
    out = []
    for line in text.splitlines():
        if line.startswith("Thread "):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out


BT_FRAME = re.compile(r"^#(?P<level>\d+)\s+(?:0x[0-9a-f]+ in )?(?P<function>\S+) \(")
BT_ELIDED = re.compile(r"^    (?P<function>\S+) \(\) at (?P<filename>.+):(?P<line>\d+|\?)$")


def parse_bt(text):
    """[(native function, [(python function, filename, line)])] newest first; ValueError on
    lines that are neither."""
    frames = []
    for line in text.splitlines():
        native = BT_FRAME.match(line)
        if native:
            frames.append((native["function"], []))
            continue
        elided = BT_ELIDED.match(line)
        if elided and frames:
            number = None if elided["line"] == "?" else int(elided["line"])
            frames[-1][1].append((elided["function"], elided["filename"], number))
            continue
        if line.startswith("(More stack frames follow") or line.startswith("Backtrace stopped"):
            continue
        raise ValueError("unexpected bt line: %r" % line)
    return frames


def eval_call_groups(frames):
    """The JSON frames (outermost first) grouped per eval-loop call like the core does:
    newest call first, newest frame first, a group ending with its entry frame."""
    groups, current = [], []
    for frame in reversed(frames):
        current.append(frame)
        if frame["entry"]:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups
