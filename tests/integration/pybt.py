"""CPython's own `py-bt` (the python-gdb.py its build installs) run under gdb on a live
process, and its output parsed per thread.

py-bt walks each thread's C stack (gdb frames), innermost first, and prints, per thread:

    Thread 2 (Thread 0x7f3ce86fc6c0 (LWP 4602) "python3"):
    Traceback (most recent call first):
      <built-in method sleep of module object at remote 0x7f3ce890aa20>
      File "/path/parked_threads.py", line 50, in park_in_sleep
        time.sleep(100000)  # PARK: sleep
      ...

Which entries are Python frames: ONLY `  File "<co_filename>", line <N>, in <co_name>`
(N is "?" when py-bt could not compute it); the 4-space line after one is its source
text.  Every other two-space entry stands for a C frame and is not a Python frame:
`<built-in method ...>` / `<built-in function ...>` / `<method-wrapper ...>` (a
PyCFunction or wrapper_call being run), `PyCFunction invocation (...)`,
`<wrapper_call invocation (...)>`, `Waiting for the GIL`, `Garbage-collecting`.
Two entries mean "a Python frame is here, but py-bt could not read it":
`(frame information optimized out)` (the C variable holding the frame was optimised
out: one Python frame lost) and `(unable to read python frame information)` (no
frame pointer in an eval-loop C frame: on 3.11+ the whole chain of Python frames run
by that C frame is lost).  They are kept as UNREADABLE entries, in place, so a
comparison shows exactly where py-bt lost frames instead of silently shortening the
stack.  `Unable to locate python frame` means the thread has no Python frame at all.
Anything else inside a thread's block (e.g. gdb's `Python Exception <...>: ...` from
a py-bt that raised) is kept as an ERROR entry.
"""
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import clean_env, task_status, wait_until_all_sleeping

MAX_FRAMES = 100  # per thread, innermost first

FRAME = "frame"
C_ENTRY = "c"
UNREADABLE = "unreadable"
ERROR = "error"

UNREADABLE_MARKERS = ("(frame information optimized out)", "(unable to read python frame information)")
NO_PYTHON_FRAME = "Unable to locate python frame"

THREAD_HEADER = re.compile(r"^Thread (?P<number>\d+) \(.*?\bLWP (?P<lwp>\d+)\b")
FILE_ENTRY = re.compile(r'^  File "(?P<filename>.*)", line (?P<line>\d+|\?), in (?P<name>.+)$')

# bpo-45838 (python/cpython#89996): the python-gdb.py of 3.6 to 3.8 reads co_lnotab's line
# increments as unsigned bytes, although they are signed since 3.6.  After a negative
# increment (a multi-line expression, a loop) py-bt's line is 256 too high per such
# increment.  Fixed in 3.9's script only (3.10 has a new line table); 3.8 was security-only.
# This is 3.9's fixed addr2line, verbatim in logic, installed over the stock one.
ADDR2LINE_SIGNED_FIX = """\
python
def _stackscope_addr2line_signed(self, addrq):
    co_lnotab = self.pyop_field('co_lnotab').proxyval(set())
    lineno = int_from_int(self.field('co_firstlineno'))
    addr = 0
    for addr_incr, line_incr in zip(co_lnotab[::2], co_lnotab[1::2]):
        addr += ord(addr_incr)
        if addr > addrq:
            return lineno
        line_delta = ord(line_incr)
        if line_delta >= 128:
            line_delta -= 256
        lineno += line_delta
    return lineno
PyCodeObjectPtr.addr2line = _stackscope_addr2line_signed
end
"""


# py-bt needs the interpreter's DWARF types (a stripped distribution build without its
# -dbg/-dbgsym package gives only "(unable to read python frame information)").
DEBUG_INFO_PROBE = """\
python
try:
    gdb.lookup_type("PyObject")
    print("@@pybt-debug-info yes@@")
except Exception as error:
    print("@@pybt-debug-info no: %s@@" % error)
end
"""


def needs_bpo45838_fix(script_text):
    """Whether the script computes lines from co_lnotab without treating increments as signed."""
    return "co_lnotab" in script_text and "def addr2line" in script_text and "-= 256" not in script_text


def find_gdb_script(pid, python, version):
    """(path, tried): the python-gdb.py belonging to the interpreter running pid.

    Builds put it beside what gdb auto-loads it for: `<libpython>-gdb.py` (Debian, Fedora,
    `make install` of a shared build), `<bindir>/python3.X-gdb.py` (pyenv) or
    /usr/share/gdb/auto-load/<realpath>-gdb.py.  The libpython is the one pid has mapped.
    """
    major_minor = ".".join(version.split(".")[:2])
    objfiles = []
    for line in Path("/proc/%d/maps" % pid).read_text().splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and re.search(r"/libpython\d+\.\d+[a-z]*\.so", parts[5]):
            objfiles.append(parts[5].strip())
    objfiles.append(os.readlink("/proc/%d/exe" % pid))
    objfiles.append(str(python))
    tried = []
    for objfile in dict.fromkeys(objfiles):
        real = os.path.realpath(objfile)
        candidates = [objfile + "-gdb.py", real + "-gdb.py", "/usr/share/gdb/auto-load" + real + "-gdb.py"]
        for directory in dict.fromkeys([os.path.dirname(objfile), os.path.dirname(real)]):
            candidates.append(os.path.join(directory, "python%s-gdb.py" % major_minor))
        for candidate in candidates:
            if candidate not in tried:
                tried.append(candidate)
                if os.path.isfile(candidate):
                    return Path(candidate), tried
    return None, tried


@dataclass
class PyBtThread:
    number: int  # gdb's thread number
    lwp: int
    entries: list = field(default_factory=list)  # (kind, ...) tuples, innermost first
    no_python_frame: bool = False

    def frames(self, limit=MAX_FRAMES):
        """[(filename, name, line)] of the Python frames, innermost first, at most `limit`;
        UNREADABLE entries are kept in place as (None, marker, None)."""
        out = []
        for entry in self.entries:
            if entry[0] == FRAME:
                out.append(entry[1:])
            elif entry[0] == UNREADABLE:
                out.append((None, entry[1], None))
        return out[:limit]

    def of_kind(self, kind):
        return [e[1] if len(e) == 2 else e[1:] for e in self.entries if e[0] == kind]


def parse_pybt(text):
    """{lwp: PyBtThread} from the output of `thread apply all -c py-bt`.

    Raises ValueError on lines outside any thread block (other than blank ones)."""
    threads = {}
    current = None
    after_file = False
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        header = THREAD_HEADER.match(line)
        if header:
            current = PyBtThread(int(header["number"]), int(header["lwp"]))
            if current.lwp in threads:
                raise ValueError("thread LWP %d reported twice" % current.lwp)
            threads[current.lwp] = current
            after_file = False
            continue
        if not line.strip():
            after_file = False
            continue
        if current is None:
            raise ValueError("py-bt output outside a thread block: %r" % line)
        if line == "Traceback (most recent call first):":
            after_file = False
            continue
        match = FILE_ENTRY.match(line)
        if match:
            number = None if match["line"] == "?" else int(match["line"])
            current.entries.append((FRAME, match["filename"], match["name"], number))
            after_file = True
            continue
        if after_file and line.startswith("    "):
            after_file = False  # the source line of the frame just read
            continue
        after_file = False
        if line.strip() in UNREADABLE_MARKERS and line.startswith("  "):
            current.entries.append((UNREADABLE, line.strip()))
        elif line == NO_PYTHON_FRAME:
            current.no_python_frame = True
        elif line.startswith("  ") and not line.startswith("   "):
            current.entries.append((C_ENTRY, line.strip()))
        else:
            current.entries.append((ERROR, line))
    return threads


@dataclass
class PyBtRun:
    gdb_argv: list
    script: Path
    returncode: int
    output: str  # stdout and stderr of gdb, interleaved
    debug_info: str  # "yes", or "no: <why>" (gdb found no PyObject type)
    stock: dict  # {lwp: PyBtThread} from the script as shipped
    fixed: dict  # the same after the bpo-45838 fix, or `stock` when the script needs none
    fix_applied: bool
    left_behind: list  # [(tid, status)] traced or stopped right after gdb exited
    elapsed: float

    def describe(self):
        return "gdb %s (exit %s, %.1fs, script %s)\n%s" % (
            " ".join(self.gdb_argv), self.returncode, self.elapsed, self.script, self.output[-6000:])


def section(output, name):
    begin, end = "@@pybt-begin %s@@" % name, "@@pybt-end %s@@" % name
    if begin not in output or end not in output:
        raise AssertionError("gdb output lacks the %s section:\n%s" % (name, output[-6000:]))
    return output.split(begin, 1)[1].split(end, 1)[0]


def traced_or_stopped(pid):
    return [(tid, s) for tid, s in task_status(pid).items() if s["TracerPid"] != 0 or s["State"][0] in "tT"]


def run_pybt(gdb, pid, script, workdir, timeout=180):
    """Attach gdb to pid, run py-bt on every thread, detach; the process is left running.

    gdb stops every thread while attached and detaches when the batch ends.  If gdb is
    killed (timeout) the kernel detaches it, but threads may stay in group-stop: they get
    a SIGCONT.  What was found right after gdb exited is returned in `left_behind` so a
    test can tell (the rescue keeps the shared scenario usable for the other tests)."""
    fix = needs_bpo45838_fix(script.read_text(errors="replace"))
    commands = [
        "set pagination off", "set width 0", "set height 0", "set print thread-events off",
        "source %s" % script,
        DEBUG_INFO_PROBE.rstrip("\n"),
        "echo \\n@@pybt-begin stock@@\\n", "thread apply all -c py-bt", "echo \\n@@pybt-end stock@@\\n",
    ]
    if fix:
        commands += [
            ADDR2LINE_SIGNED_FIX.rstrip("\n"),
            "echo \\n@@pybt-begin fixed@@\\n", "thread apply all -c py-bt", "echo \\n@@pybt-end fixed@@\\n",
        ]
    command_file = Path(workdir) / "pybt.gdb"
    command_file.write_text("\n".join(commands) + "\n")
    argv = [
        str(gdb), "-nx", "-batch",
        "-iex", "set auto-load python-scripts off",  # we source the script ourselves, once
        "-iex", "set debuginfod enabled off",  # no network, no question
        "-p", str(pid), "-x", str(command_file),
    ]
    wait_until_all_sleeping(pid)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", timeout=timeout,
        )
        returncode, output = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as timed_out:  # gdb was SIGKILLed by subprocess.run
        returncode = "timeout after %ss" % timeout
        output = timed_out.output or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
    elapsed = time.monotonic() - started
    left_behind = traced_or_stopped(pid)
    if left_behind:
        deadline = time.monotonic() + 10
        while any(s["TracerPid"] for _, s in traced_or_stopped(pid)) and time.monotonic() < deadline:
            time.sleep(0.05)  # a dying tracer is detached by the kernel
        os.kill(pid, signal.SIGCONT)
    wait_until_all_sleeping(pid)
    probe = re.search(r"@@pybt-debug-info (.*?)@@", output)
    debug_info = probe.group(1) if probe else "no: the probe did not run"
    run = PyBtRun(argv, script, returncode, output, debug_info, {}, {}, fix, left_behind, elapsed)
    try:
        run.stock = parse_pybt(section(output, "stock"))
        run.fixed = parse_pybt(section(output, "fixed")) if fix else run.stock
    except ValueError as error:
        raise AssertionError("unparsable py-bt output: %s\n%s" % (error, run.describe()))
    return run
