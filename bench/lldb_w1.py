#!/usr/bin/env python3
"""Benchmark W1 for the debugger front-ends: all threads' stacks of one parked W1 process
(bench/w1_workload.py, 20 threads x 50 frames by default), side by side:

  cli          `stackscope pid PID` run as a command: process start, ptrace stop and resume
               of every thread, the read, the output (wall time of the whole command)
  lldb         `stackscope all-threads` inside an lldb session (plugin loaded, attached):
               the command alone, as HandleCommand times it; memory read with process_vm_readv
  lldb-sbapi   the same with STACKSCOPE_LLDB_READS=lldb: memory read through SBProcess::ReadMemory
               (lldb-server's gdb-remote protocol)
  gdb          `py-stackscope` inside a gdb session (build/gdb/stackscope-gdb.py), when built
  gdb-reads    the same with `set py-stackscope-memory gdb`, when the gdb front-end has it

Each debugger runs SESSIONS sessions of REPEAT commands per variant. "first" is the first
command of a session: nothing cached yet (the gdb front-end keeps its snapshot until the
inferior runs again, LLDB keeps the memory it read through lldb-server); "later" are the
others. For the CLI every run is a first run.

Usage: bench/lldb_w1.py [--build DIR] [--python PATH] [--threads N] [--depth N] [--sessions N] [--repeat N]
(defaults: the repository's build/, pyenv's 3.12.1, 20, 50, 5, 5). Run it as root or as the
owner of the workload (ptrace). Prints median / min / max milliseconds per tool.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run inside the debuggers, each with its plan in the JSON file named by $STACKSCOPE_BENCH_PLAN.
LLDB_TIMER = REPO / "bench" / "drivers" / "lldb_timer.py"
GDB_TIMER = REPO / "bench" / "drivers" / "gdb_timer.py"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(extra)
    return env


def pyenv_python(version):
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    if not root:
        root = str(Path.home() / ".pyenv")
    return Path(root) / "versions" / version / "bin" / "python3"


def start_workload(python, threads, depth, workdir):
    fifo = workdir / "ready.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([str(python), str(REPO / "bench" / "w1_workload.py"), str(fifo), str(threads), str(depth)],
                            env=clean_env(), stdin=subprocess.DEVNULL, start_new_session=True)
    with open(fifo) as ready:  # blocks until the workload opens it and writes "ready"
        if "ready" not in ready.read():
            raise SystemExit("the workload did not get ready")
    wait_until_sleeping(proc.pid)
    return proc


def wait_until_sleeping(pid, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = []
        for task in Path("/proc/%d/task" % pid).iterdir():
            try:
                states.append(next(l for l in (task / "status").read_text().splitlines() if l.startswith("State:")).split()[1])
            except (OSError, StopIteration):
                pass
        if states and all(s == "S" for s in states):
            return
        time.sleep(0.05)
    raise SystemExit("the workload's threads do not all sleep")


def frame_lines(text):
    return sum(1 for line in text.splitlines() if line.startswith(("╠ ", "+ ")))


def time_cli(binary, pid, runs):
    times, output = [], ""
    for _ in range(runs):
        wait_until_sleeping(pid)
        started = time.perf_counter()
        proc = subprocess.run([str(binary), "pid", str(pid)], env=clean_env(), capture_output=True, text=True, timeout=120)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit("stackscope failed: %s" % proc.stderr)
        output = proc.stdout
    return {"cli": {"first": times, "later": [], "output": output}}


def time_lldb(lldb, plugin, pid, repeat, workdir):
    out = workdir / "lldb.out.json"
    plan = {"repeat": repeat, "out": str(out),
            "variants": [["lldb", {}], ["lldb-sbapi", {"STACKSCOPE_LLDB_READS": "lldb"}]]}
    plan_path = workdir / "lldb.plan.json"
    plan_path.write_text(json.dumps(plan))
    wait_until_sleeping(pid)
    started = time.perf_counter()
    proc = subprocess.run([lldb, "--no-lldbinit", "--batch", "-o", 'plugin load "%s"' % plugin, "-o", "process attach -p %d" % pid,
                           "-o", 'command script import "%s"' % LLDB_TIMER, "-o", "process detach"],
                          env=clean_env(STACKSCOPE_BENCH_PLAN=str(plan_path)), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    session = time.perf_counter() - started
    if not out.exists():
        raise SystemExit("lldb failed (exit %d):\n%s%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return json.loads(out.read_text()), session


def time_gdb(gdb, script, pid, repeat, workdir):
    out = workdir / "gdb.out.json"
    plan_path = workdir / "gdb.plan.json"
    plan_path.write_text(json.dumps({"repeat": repeat, "out": str(out), "variants": [["gdb", None], ["gdb-reads", "gdb"]]}))
    wait_until_sleeping(pid)
    started = time.perf_counter()
    proc = subprocess.run([gdb, "-nx", "-batch", "-iex", "set auto-load python-scripts off", "-iex", "set debuginfod enabled off",
                           "-p", str(pid), "-ex", "source %s" % script, "-ex", "source %s" % GDB_TIMER],
                          env=clean_env(STACKSCOPE_BENCH_PLAN=str(plan_path)), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    session = time.perf_counter() - started
    if not out.exists():
        raise SystemExit("gdb failed (exit %d):\n%s%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    return json.loads(out.read_text()), session


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--python", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python = args.python or pyenv_python("3.12.1")
    binary = args.build / "stackscope"
    plugin = args.build / "lldb" / "libstackscope_lldb.so"
    gdb_script = args.build / "gdb" / "stackscope-gdb.py"
    lldb = shutil.which("lldb-16") or shutil.which("lldb")
    gdb = shutil.which("gdb")
    for path, what in ((python, "interpreter"), (binary, "stackscope binary"), (plugin, "lldb plugin")):
        if not path.exists():
            raise SystemExit("%s missing: %s" % (what, path))
    if lldb is None:
        raise SystemExit("no lldb-16 on PATH")

    results, sessions, notes = {}, {}, []

    def add(session_results):
        for label, result in session_results.items():
            merged = results.setdefault(label, {"first": [], "later": [], "output": result["output"]})
            merged["first"].append(result["times"][0])
            merged["later"].extend(result["times"][1:])

    with tempfile.TemporaryDirectory(prefix="stackscope-bench-") as tmp:
        workdir = Path(tmp)
        workload = start_workload(python, args.threads, args.depth, workdir)
        try:
            results.update(time_cli(binary, workload.pid, args.sessions * args.repeat))
            for _ in range(args.sessions):
                lldb_results, seconds = time_lldb(lldb, plugin, workload.pid, args.repeat, workdir)
                add(lldb_results)
                sessions.setdefault("lldb", []).append(seconds)
            if gdb and gdb_script.exists():
                for _ in range(args.sessions):
                    gdb_results, seconds = time_gdb(gdb, gdb_script, workload.pid, args.repeat, workdir)
                    add(gdb_results)
                    sessions.setdefault("gdb", []).append(seconds)
            else:
                notes.append("gdb front-end not timed: %s" % ("no gdb on PATH" if not gdb else "%s is not built" % gdb_script))
        finally:
            os.killpg(workload.pid, signal.SIGKILL)
            workload.wait()

    def stats(seconds):
        ms = [t * 1000 for t in seconds]
        return "%8.1f %7.1f %7.1f" % (statistics.median(ms), min(ms), max(ms)) if ms else "%8s %7s %7s" % ("-", "-", "-")

    print("W1: %d threads x %d frames, %s; %d sessions x %d commands per debugger variant, %d CLI runs"
          % (args.threads, args.depth, python, args.sessions, args.repeat, args.sessions * args.repeat))
    print("%-11s %-24s %-24s %s" % ("", "first: median  min  max", "later: median  min  max", "frame lines"))
    for label, result in results.items():
        print("%-11s %-24s %-24s %d" % (label, stats(result["first"]), stats(result["later"]), frame_lines(result["output"])))
    for tool, seconds in sessions.items():
        print("%s session (start, attach, %d commands per variant, detach): median %.2f s"
              % (tool, args.repeat, statistics.median(seconds)))
    for note in notes:
        print(note)
    counts = {frame_lines(r["output"]) for r in results.values()}
    if len(counts) != 1:
        print("WARNING: the tools printed different numbers of frame lines: %s" % counts)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
