"""Benchmark W2 on one parked process: every asyncio task of bench/w2_workload.py (1,000
TaskGroups x 9 sleeping leaves, their 1,000 parents and the main task: 10,001 tasks) on Debian's
CPython 3.14, read by `stackscope pid PID --tasks` and by CPython's own
`python3.14 -m asyncio pstree PID`, alternately on the same process in one run.

    /usr/bin/python3 bench/w2_tasks.py [--python PATH] [--cli PATH] [--groups N] [--leaves N] [--runs N]

Defaults: build/debian-python/3.14/root/usr/bin/python3.14 (scripts/get-debian-python.sh),
build/stackscope, 1000, 9, 5 runs of each. Prints the wall time of each whole command (start,
read, print, until it has exited and its output has been read as bytes: median, min, max), the
ratio of the medians, how many tasks each printed, the CLI's read calls per task (those that
reached the target, and those asked of its page cache) and how long it kept the target stopped
(all from its own --debug-reads: the CLI times the stop from before it attaches to after it has
detached, an upper bound of the window in which any thread was stopped), and whether the target
was seen stopped while pstree ran (/proc/PID/task/*/stat polled in one more, untimed run).
Exits 1 when a command failed or printed fewer tasks than the workload has."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import clean_env, kill_group, spawn, wait_for_ready, wait_until_all_sleeping  # noqa: E402

PSTREE_TASK = re.compile(r"\(T\) ")  # pstree: one `(T) NAME` line per task
# stackscope: a task is a root (`stackscope.Stack of <Task ...>`) or a child line (`├── <Task ...>`)
# under its awaiter; one shown again under a second awaiter says `(shown under ...)`.
STACKSCOPE_TASK = re.compile(r"^(?:stackscope\.Stack of <Task |.*── <Task (?!.*\(shown under ))", re.M)


class StopWatcher:
    """Polls the target's threads' states while a command runs: whether any was seen stopped
    (t: traced stop, T: stopped)."""

    def __init__(self, pid):
        self.pid, self.seen, self.polls = pid, False, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        tasks = Path("/proc/%d/task" % self.pid)
        while not self._done.is_set():
            for task in tasks.iterdir():
                try:
                    state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                except (OSError, IndexError):
                    continue
                self.seen |= state in "tT"
            self.polls += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def timed(argv, pid, watch=False):
    wait_until_all_sleeping(pid)
    watcher = StopWatcher(pid) if watch else None
    if watcher:
        watcher.__enter__()
    started = time.perf_counter()
    # Bytes: turning the output into Python text (decoding it and translating its newlines, about
    # 9 ms for stackscope's 4.6 MB) is this script's work, not the command's.
    run = subprocess.run([str(a) for a in argv], capture_output=True, env=clean_env(), timeout=600)
    seconds = time.perf_counter() - started
    if watcher:
        watcher.__exit__()
    stdout, stderr = run.stdout.decode("utf-8", "replace"), run.stderr.decode("utf-8", "replace")
    error = None if run.returncode == 0 else "exit %d: %s" % (run.returncode, stderr.strip()[-500:])
    return {"seconds": seconds, "stdout": stdout, "stderr": stderr, "error": error,
            "seen_stopped": watcher.seen if watcher else None, "polls": watcher.polls if watcher else 0}


def stats(values, unit=1000.0):
    values = [v * unit for v in values]
    return "%8.1f %8.1f %8.1f" % (statistics.median(values), min(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=str(ROOT / "build/debian-python/3.14/root/usr/bin/python3.14"))
    parser.add_argument("--cli", default=str(ROOT / "build/stackscope"))
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--leaves", type=int, default=9)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for path in (args.python, args.cli):
        if not os.access(path, os.X_OK):
            sys.exit("w2_tasks: %s is not an executable" % path)
    with tempfile.TemporaryDirectory(prefix="stackscope-w2-") as work:
        fifo = Path(work) / "ready"
        os.mkfifo(fifo)
        proc = spawn([args.python, ROOT / "bench" / "w2_workload.py", fifo, args.groups, args.leaves])
        try:
            said = wait_for_ready(proc, fifo, timeout=120)
            tasks = int(re.search(r"(\d+) tasks", said).group(1))
            version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                                     capture_output=True, text=True, env=clean_env()).stdout.strip()
            ours, theirs = [], []
            for _ in range(args.runs):
                ours.append(timed([args.cli, "--debug-reads", "pid", proc.pid, "--tasks"], proc.pid))
                theirs.append(timed([args.python, "-m", "asyncio", "pstree", proc.pid], proc.pid))
            # Untimed: the poller would compete with pstree for the CPU.
            watched = timed([args.python, "-m", "asyncio", "pstree", proc.pid], proc.pid, watch=True)
            as_json = timed([args.cli, "pid", proc.pid, "--tasks", "--json"], proc.pid)
        finally:
            kill_group(proc)
    errors = [r["error"] for r in ours + theirs + [watched, as_json] if r["error"]]
    reads = [int(m.group(1)) for r in ours for m in [re.search(r"(\d+) target read calls", r["stderr"])] if m]
    asked = [int(m.group(1)) for r in ours for m in [re.search(r"(\d+) asked of the page cache", r["stderr"])] if m]
    stopped = [float(m.group(1)) for r in ours for m in [re.search(r"target stopped (?:for )?([\d.]+) ms", r["stderr"])] if m]
    printed = {"stackscope": len(STACKSCOPE_TASK.findall(ours[-1]["stdout"])),
               "pstree": len(PSTREE_TASK.findall(theirs[-1]["stdout"]))}
    listed = len(json.loads(as_json["stdout"])["tasks"]) if not as_json["error"] else 0
    ratio = statistics.median(r["seconds"] for r in theirs) / statistics.median(r["seconds"] for r in ours)
    print("W2: %d TaskGroups x %d sleeping leaves, %d tasks in all (asyncio.all_tasks()), Python %s; %d runs each, "
          "alternately" % (args.groups, args.leaves, tasks, version, args.runs))
    print("  %-44s %8s %8s %8s  %s" % ("", "median", "min", "max", "tasks printed"))
    print("  %-44s %s  %d" % ("stackscope pid PID --tasks (ms)", stats([r["seconds"] for r in ours]),
                              printed["stackscope"]))
    print("  %-44s %s  %d" % ("python3.14 -m asyncio pstree PID (ms)", stats([r["seconds"] for r in theirs]),
                              printed["pstree"]))
    print("  ratio pstree / stackscope (medians): %.1fx (aim: >= 10x)" % ratio)
    if reads:
        print("  stackscope read calls: %d (median), %.2f per task" % (statistics.median(reads),
                                                                         statistics.median(reads) / tasks))
    if asked:
        print("  stackscope reads asked of its page cache: %d (median), %.0f per task" % (
            statistics.median(asked), statistics.median(asked) / tasks))
    if stopped:
        print("  target stopped by stackscope: median %.1f ms, max %.1f ms (aim: <= 50 ms)" % (
            statistics.median(stopped), max(stopped)))
    print("  stackscope --tasks --json listed %d tasks; while pstree ran (one more run, its threads' states "
          "polled %d times) the target was %s" % (listed, watched["polls"], "seen stopped" if watched["seen_stopped"]
                                                   else "never seen stopped"))
    for error in errors:
        print("  ERROR: %s" % error)
    incomplete = [tool for tool, count in printed.items() if count < tasks] + (["stackscope --json"] if listed < tasks else [])
    if incomplete:
        print("  INCOMPLETE: fewer than %d tasks printed by %s" % (tasks, ", ".join(incomplete)))
    return 1 if errors or incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
