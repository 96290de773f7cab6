#!/usr/bin/python3
"""Writes the seed corpora of the tasks and asyncio_debug fuzz targets (tests/fuzz/corpus/).

  tasks: memory images of real processes running tests/fuzz/task_seed.py (asyncio tasks awaiting
      each other every way the reader knows, a running task), captured by build/tests/fuzz/capture_seed
      as `--tasks` reads them. Each interpreter runs from a copy under a fresh temporary prefix
      (corefiles/make's copies, under env -i), so that the images name no path of this machine.
  asyncio_debug: the .AsyncioDebug sections of Debian's 3.14 and 3.15 builds, release and debug
      (scripts/get-debian-python.sh unpacks them under build/debian-python/).

Needs root (ptrace), patchelf, objcopy, and the interpreters of tests/integration/interpreters.py.
scripts/make-fuzz-seeds.sh runs it after building capture_seed. Valid Python 3.8 syntax.
"""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
CAPTURE = ROOT / "build" / "tests" / "fuzz" / "capture_seed"
# interpreter label (tests/integration/interpreters.py) -> seed file: the WeakSet registry and
# rebuilt awaiters (3.11), the C tasks' lists found through .AsyncioDebug and recorded awaiters (3.14).
TASK_SEEDS = {"3.11.7": "python311-tasks.img", "3.14": "python314-tasks.img"}
DEBIAN_BLOCKS = {  # seed name -> (unpacked build, file holding .AsyncioDebug)
    "3.14": ("3.14", "usr/lib/python3.14/lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so"),
    "3.14-dbg": ("3.14-dbg", "usr/lib/python3.14/lib-dynload/_asyncio.cpython-314d-x86_64-linux-gnu.so"),
    "3.15": ("3.15", "usr/bin/python3.15"),
    "3.15-dbg": ("3.15-dbg", "usr/bin/python3.15d"),
}
READY_TIMEOUT_SECONDS = 60


def load_corefiles_make():
    """corefiles/make (a script without .py): its copies of the interpreters."""
    loader = importlib.machinery.SourceFileLoader("corefiles_make", str(ROOT / "corefiles" / "make"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


make = load_corefiles_make()
harness = make.harness


def capture(label, out):
    interp, executable = make.interpreter_for(label)
    prefix = Path(tempfile.mkdtemp(prefix="stackscope-seed-"))
    proc = None
    try:
        if interp.pyenv_version:
            command = [make.copy_pyenv_build(executable, prefix / "python")]
        else:
            command, _ = make.copy_unpacked_root(executable, prefix / "python")
        work = prefix / "run"
        work.mkdir()
        script, fifo = work / "task_seed.py", work / "ready.fifo"
        shutil.copy2(ROOT / "tests" / "fuzz" / "task_seed.py", script)
        os.mkfifo(fifo)
        proc = harness.spawn(["env", "-i"] + command + ["-I", "-S", "-B", script, fifo], cwd=work, env={})
        harness.wait_for_ready(proc, fifo, READY_TIMEOUT_SECONDS, lambda: "")
        harness.wait_until_all_sleeping(proc.pid)
        subprocess.run([str(CAPTURE), str(proc.pid), str(out)], check=True)
    finally:
        if proc is not None:
            harness.kill_group(proc)
        shutil.rmtree(prefix, ignore_errors=True)


def extract_blocks():
    debian = ROOT / "build" / "debian-python"
    out_dir = CORPUS / "asyncio_debug"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (build, relative) in DEBIAN_BLOCKS.items():
        source = debian / build / "root" / relative
        if not source.is_file():
            raise SystemExit("capture_task_seeds: no %s (run scripts/get-debian-python.sh)" % source)
        subprocess.run(["objcopy", "-O", "binary", "--only-section=.AsyncioDebug", str(source), str(out_dir / name)],
                       check=True)
        print("%s: %d bytes" % (out_dir / name, (out_dir / name).stat().st_size))


def main():
    if not CAPTURE.is_file():
        raise SystemExit("capture_task_seeds: build %s first" % CAPTURE)
    (CORPUS / "tasks").mkdir(parents=True, exist_ok=True)
    for label, name in TASK_SEEDS.items():
        capture(label, CORPUS / "tasks" / name)
    extract_blocks()


if __name__ == "__main__":
    main()
