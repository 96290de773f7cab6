"""Benchmark W1 on one parked process: `stackscope pid` (the CLI), then, inside one gdb
session, `py-stackscope` and CPython's `thread apply all py-bt` (gdb's start-up not counted),
one run each (nothing cached before the first).

    /usr/bin/python3 bench/gdb_w1.py [--threads N] [--depth N] [--python PATH] [--script PATH] [--cli PATH]

Defaults: bench/w1_workload.py (20 threads x 50 frames) run by pyenv's 3.12.1, whose
python3.12-gdb.py provides py-bt, build/gdb/stackscope-gdb.py and build/stackscope.  Prints
the times, the time per Python frame and the ratios per frame, the CLI's read calls per frame
(its own counter, --debug-reads) and system calls per frame (strace -c -f, a second run);
exits 1 when a command failed."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import clean_env, kill_group, spawn_until_ready  # noqa: E402
from interpreters import pyenv_root  # noqa: E402
from pybt import find_gdb_script  # noqa: E402

# Runs inside gdb (`-x`), its parameters in STACKSCOPE_BENCH_* environment variables.
DRIVER = ROOT / "bench" / "drivers" / "gdb_w1_session.py"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--python", help="the interpreter (default: pyenv's 3.12.1)")
    parser.add_argument("--cli", default=str(ROOT / "build/stackscope"))
    parser.add_argument("--script", default=os.environ.get("STACKSCOPE_GDB_SCRIPT") or str(ROOT / "build/gdb/stackscope-gdb.py"))
    args = parser.parse_args()
    python = args.python or str((pyenv_root() or Path("/nonexistent")) / "versions" / "3.12.1" / "bin" / "python3")
    if not os.access(python, os.X_OK) or not os.path.isfile(args.script):
        sys.exit("gdb_w1: need %s and %s" % (python, args.script))
    with tempfile.TemporaryDirectory(prefix="stackscope-gdb-w1-") as work:
        work = Path(work)
        proc = spawn_until_ready([python, ROOT / "bench" / "w1_workload.py", work / "ready", args.threads, args.depth],
                                 work / "ready", timeout=60)
        try:
            version = subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                     capture_output=True, text=True, env=clean_env()).stdout.strip()
            pybt_script, tried = find_gdb_script(proc.pid, python, version)
            if pybt_script is None:
                sys.exit("gdb_w1: no python-gdb.py for %s (tried %s)" % (python, ", ".join(tried)))
            cli = measure_cli(args.cli, proc.pid, work)
            subprocess.run(["gdb", "-nx", "-batch", "-iex", "set auto-load python-scripts off",
                            "-iex", "set debuginfod enabled off", "-p", str(proc.pid), "-x", str(DRIVER)],
                           env=clean_env(STACKSCOPE_BENCH_PYBT_SCRIPT=str(pybt_script), STACKSCOPE_BENCH_GDB_SCRIPT=str(args.script),
                                         STACKSCOPE_BENCH_OUT=str(work / "result.json")), stdin=subprocess.DEVNULL, capture_output=True, timeout=1800)
            result = json.loads((work / "result.json").read_text())
        finally:
            kill_group(proc)
    ours, pybt = result["py-stackscope"], result["thread apply all py-bt"]
    frames = {
        "py-stackscope": len(re.findall(r"^╠ ", ours["output"], re.M)),
        "py-bt": len(re.findall(r'^  File ".*", line', pybt["output"], re.M)),
    }
    print("W1 (%d threads x %d frames, Python %s, stopped by gdb) in one gdb session, one run each:"
          % (args.threads, args.depth, version))
    for key, entry in result.items():
        print("  %-32s %9.1f ms%s" % (key, entry["seconds"] * 1000, "  ERROR: " + entry["error"] if entry["error"] else ""))
    print("  Python frames printed: py-stackscope %(py-stackscope)d (threading bootstrap hidden), py-bt %(py-bt)d" % frames)
    print("  ratio py-bt / py-stackscope: %.0fx" % (pybt["seconds"] / ours["seconds"]))
    print()
    print("`stackscope pid` on the same process, before gdb attached (the whole command: start, stop")
    print("every thread, read, resume, print), %d Python frames (threading bootstrap included):" % cli["frames"])
    print("  %-32s %9.1f ms  (%.1f us per frame)" % ("stackscope pid", cli["seconds"] * 1000, cli["seconds"] / cli["frames"] * 1e6))
    pybt_per_frame = pybt["seconds"] / max(frames["py-bt"], 1)
    print("  %-32s %9.1f ms  (%.1f us per frame)" % ("thread apply all py-bt", pybt["seconds"] * 1000, pybt_per_frame * 1e6))
    print("  ratio per frame, py-bt / stackscope pid: %.0fx (aim: >= 100x)" % (pybt_per_frame / (cli["seconds"] / cli["frames"])))
    print("  read calls: %d, %.2f per frame (aim: <= 1.5)" % (cli["reads"], cli["reads"] / cli["frames"]))
    print("  system calls (strace -c -f): %d, %.2f per frame; %s" % (
        cli["syscalls"], cli["syscalls"] / cli["frames"], ", ".join("%s %d" % kv for kv in cli["top_syscalls"])))
    return 1 if ours["error"] or pybt["error"] or cli["error"] else 0


def measure_cli(cli, pid, work):
    """One timed run with the read counter, then one under strace for the system calls."""
    argv = [cli, "--debug-reads", "pid", str(pid), "--format", "json", "--show-hidden"]
    started = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), timeout=120)
    seconds = time.perf_counter() - started
    error = None if run.returncode == 0 else "exit %d: %s" % (run.returncode, run.stderr.strip())
    frames = sum(len(t["frames"]) for t in json.loads(run.stdout)["threads"]) if run.stdout else 0
    reads = re.search(r"(\d+) target read calls", run.stderr)
    counts = work / "strace.txt"
    subprocess.run(["strace", "-c", "-f", "-o", str(counts)] + argv, capture_output=True, env=clean_env(), timeout=120)
    syscalls = {}
    for line in counts.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1] not in ("syscall", "total") and fields[3].isdigit():
            syscalls[fields[-1]] = int(fields[3])
    return {
        "seconds": seconds, "frames": max(frames, 1), "error": error,
        "reads": int(reads.group(1)) if reads else -1,
        "syscalls": sum(syscalls.values()),
        "top_syscalls": sorted(syscalls.items(), key=lambda kv: -kv[1])[:4],
    }


if __name__ == "__main__":
    sys.exit(main())
