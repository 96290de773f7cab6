"""Benchmark W1 inside one gdb session: `py-stackscope` vs CPython's `thread apply all py-bt`
on the same parked process, one run each (py-stackscope first, with nothing cached).

    /usr/bin/python3 bench/gdb_w1.py [--threads N] [--depth N] [--python PATH] [--script PATH]

Defaults: bench/w1_workload.py (20 threads x 50 frames) run by pyenv's 3.12.1, whose
python3.12-gdb.py provides py-bt, and build/gdb/stackscope-gdb.py.  Prints both times, the
ratio, and how many Python frames each printed; exits 1 when either command failed."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from harness import clean_env, kill_group, spawn_until_ready  # noqa: E402
from interpreters import pyenv_root  # noqa: E402
from pybt import find_gdb_script  # noqa: E402

DRIVER = r'''
import json, time
import gdb
PYBT_SCRIPT, STACKSCOPE_SCRIPT, OUT = %r, %r, %r
gdb.execute("set pagination off")
gdb.execute("source " + PYBT_SCRIPT)
gdb.execute("source " + STACKSCOPE_SCRIPT)
result = {}
for key, command in (("py-stackscope", "py-stackscope"), ("py-stackscope (again, cached)", "py-stackscope"),
                     ("thread apply all py-bt", "thread apply all py-bt")):
    started = time.perf_counter()
    try:
        output, error = gdb.execute(command, to_string=True), None
    except gdb.error as e:
        output, error = "", str(e)
    result[key] = {"seconds": time.perf_counter() - started, "output": output, "error": error}
json.dump(result, open(OUT, "w"))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--depth", type=int, default=50)
    parser.add_argument("--python", help="the interpreter (default: pyenv's 3.12.1)")
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
            (work / "driver.py").write_text(DRIVER % (str(pybt_script), str(args.script), str(work / "result.json")))
            subprocess.run(["gdb", "-nx", "-batch", "-iex", "set auto-load python-scripts off",
                            "-iex", "set debuginfod enabled off", "-p", str(proc.pid), "-x", str(work / "driver.py")],
                           env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, timeout=1800)
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
    print("  ratio py-bt / py-stackscope: %.0fx (aim: >= 20x)" % (pybt["seconds"] / ours["seconds"]))
    return 1 if ours["error"] or pybt["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
