"""Benchmark W1 with native frames (issue 18): on one parked W1 process, `stackscope pid`
without native frames, with --native and with --native-all, and gdb's `thread apply all bt`
(the whole gdb command: start-up, attach, symbols, unwinding; debuginfod off), each run
RUNS times in turn; prints each one's median and the ratios.

    /usr/bin/python3 bench/w1_native.py [--runs N] [--threads N] [--depth N] [--python PATH] [--cli PATH]

Defaults: 5 runs, bench/w1_workload.py (20 threads x 50 frames) run by pyenv's 3.12.1,
build/stackscope. The aim: --native at most 3x the time without it. Exits 1 when a command
failed."""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import clean_env, kill_group, spawn_until_ready  # noqa: E402
from interpreters import pyenv_root  # noqa: E402


def timed(command):
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=clean_env(), timeout=600)
    elapsed = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        sys.exit("w1_native: %s failed (%d):\n%s" % (" ".join(map(str, command)), result.returncode, result.stderr))
    return elapsed, result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--python", help="the interpreter (default: pyenv's 3.12.1)")
    parser.add_argument("--cli", default=str(ROOT / "build/stackscope"))
    args = parser.parse_args()
    python = args.python or str((pyenv_root() or Path("/nonexistent")) / "versions" / "3.12.1" / "bin" / "python3")
    if not os.access(python, os.X_OK):
        sys.exit("w1_native: need %s" % python)
    with tempfile.TemporaryDirectory(prefix="stackscope-w1-native-") as work:
        work = Path(work)
        proc = spawn_until_ready([python, ROOT / "bench" / "w1_workload.py", work / "ready", args.threads, args.depth],
                                 work / "ready", timeout=60)
        try:
            pid = str(proc.pid)
            variants = {
                "stackscope pid --json": [args.cli, "pid", pid, "--json"],
                "stackscope pid --native --json": [args.cli, "pid", pid, "--native", "--json"],
                "stackscope pid --native-all --json": [args.cli, "pid", pid, "--native-all", "--json"],
                "gdb -p PID -batch -ex 'thread apply all bt'": [
                    "gdb", "-nx", "-batch", "-iex", "set debuginfod enabled off", "-p", pid, "-ex",
                    "thread apply all bt"],
            }
            times = {name: [] for name in variants}
            frames = {}
            for _ in range(args.runs):
                for name, command in variants.items():
                    elapsed, out = timed(command)
                    times[name].append(elapsed)
                    frames[name] = out.count('"kind": "native"') if "--json" in command else out.count("\n#")
        finally:
            kill_group(proc)
    base = statistics.median(times["stackscope pid --json"])
    print("W1 (%d threads x %d frames, %s), median of %d runs each, in turn:" % (
        args.threads, args.depth, python, args.runs))
    for name, values in times.items():
        median = statistics.median(values)
        print("  %-45s %8.1f ms  (%.1fx the time without native frames; %d native frames)" % (
            name, median, median / base, frames[name]))


if __name__ == "__main__":
    main()
