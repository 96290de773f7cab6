"""lldb-16 with the stackscope plugin loaded, run in batch mode on a target.

One lldb per target: `plugin load`, the setup commands (`process attach -p PID` or
`target create EXE --core CORE`), then a driver script (`command script import`) that runs
every command of the session through lldb's command interpreter and records, per command,
its output, its error text and whether it succeeded, plus lldb's thread index of every tid.
A live target is detached at the end (`process detach`) and checked to be left running and
untraced, as pybt.py does for gdb.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import REPO_ROOT, clean_env, wait_until_all_sleeping
from pybt import traced_or_stopped

PLUGIN_ENV = "STACKSCOPE_LLDB_PLUGIN"
PLUGIN_DEFAULT = REPO_ROOT / "build" / "lldb" / "libstackscope_lldb.so"

# Runs inside lldb's Python (`command script import`), its plan in the JSON file named by
# $STACKSCOPE_LLDB_SESSION_PLAN. A command's "env" is set only while it runs.
DRIVER = Path(__file__).resolve().parent / "drivers" / "lldb_session.py"


def find_lldb():
    """lldb-16 (the SB API the plugin is built against), else a plain lldb; None when absent."""
    return shutil.which("lldb-16") or shutil.which("lldb")


def plugin_path():
    return Path(os.environ.get(PLUGIN_ENV) or PLUGIN_DEFAULT)


@dataclass
class Command:
    key: str
    command: str
    env: dict = field(default_factory=dict)


@dataclass
class LldbRun:
    argv: list
    returncode: object  # int, or "timeout after Ns"
    output: str  # lldb's stdout and stderr, interleaved
    results: dict  # key -> {"command", "output", "error", "succeeded"}
    threads: dict  # tid -> lldb index id
    selected: object  # lldb index id of the selected thread
    left_behind: list  # [(tid, status)] traced or stopped right after lldb exited (live targets)
    elapsed: float

    def describe(self):
        return "%s\n(exit %s, %.1fs)\n%s" % (" ".join(map(str, self.argv)), self.returncode, self.elapsed, self.output[-6000:])

    def result(self, key):
        """The command's output; it must have succeeded without warnings."""
        if key not in self.results:
            raise AssertionError("lldb did not run %r:\n%s" % (key, self.describe()))
        result = self.results[key]
        if not result["succeeded"] or result["error"]:
            raise AssertionError("%s failed (%s): %s\n%s" % (result["command"], result["succeeded"], result["error"], self.describe()))
        return result["output"]


def quote(path):
    return '"%s"' % str(path).replace("\\", "\\\\").replace('"', '\\"')


def run_lldb(lldb, plugin, workdir, name, setup, commands, live_pid=None, timeout=240):
    """Run one lldb session: `plugin load`, `setup`, the commands; detach from a live pid."""
    workdir = Path(workdir)
    base = "stackscope_lldb_session_%s" % re.sub(r"\W", "_", name)
    out_path = workdir / (base + ".out.json")
    plan = workdir / (base + ".json")
    plan.write_text(json.dumps({"commands": [c.__dict__ for c in commands], "out": str(out_path)}))
    if out_path.exists():
        out_path.unlink()
    argv = [lldb, "--no-lldbinit", "--batch", "-o", "plugin load %s" % quote(plugin)]
    for command in setup:
        argv += ["-o", command]
    argv += ["-o", "command script import %s" % quote(DRIVER)]
    if live_pid is not None:
        argv += ["-o", "process detach"]
        wait_until_all_sleeping(live_pid)
    started = time.monotonic()
    # Its own session, so that a timeout kills lldb-server too.
    proc = subprocess.Popen([str(a) for a in argv], env=clean_env(STACKSCOPE_LLDB_SESSION_PLAN=str(plan)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
        returncode = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        returncode = "timeout after %ss" % timeout
    elapsed = time.monotonic() - started
    left_behind = []
    if live_pid is not None:
        left_behind = traced_or_stopped(live_pid)
        if left_behind:  # keep the shared scenario usable for the other tests
            deadline = time.monotonic() + 10
            while any(s["TracerPid"] for _, s in traced_or_stopped(live_pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(live_pid, signal.SIGCONT)
        wait_until_all_sleeping(live_pid)
    recorded = json.loads(out_path.read_text()) if out_path.exists() else {"results": {}, "threads": {}, "selected": None}
    threads = {int(tid): index for tid, index in recorded["threads"].items()}
    return LldbRun(argv, returncode, output, recorded["results"], threads, recorded["selected"], left_behind, elapsed)


HEADER_CLI = re.compile(r"^Thread (\d+|0x[0-9a-f]+|\?)(.*):$")
HEADER_LLDB = re.compile(r"^thread(?: #(\d+))? \(tid (\d+|unknown)\)(.*):$")


def split_headers(text, header):
    """(header matches, the other lines) of a text output."""
    headers, rest = [], []
    for line in text.splitlines():
        match = header.match(line)
        if match:
            headers.append(match)
        else:
            rest.append(line)
    return headers, rest


def thread_blocks(text):
    """{lldb index id: [lines]} of a text output, each block from its header to the next."""
    blocks, current = {}, None
    for line in text.splitlines():
        match = HEADER_LLDB.match(line)
        if match:
            current = blocks.setdefault(int(match.group(1)) if match.group(1) else None, [])
        if current is not None:
            current.append(line)
    return blocks
