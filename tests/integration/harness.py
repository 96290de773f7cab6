"""Process plumbing for the integration tests: targets, cores, the tool."""
import atexit
import ctypes
import json
import os
import select
import re
import signal
import struct
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
SCHEMA_PATH = REPO_ROOT / "docs" / "schema-v1.json"

BOOTSTRAP_FUNCTIONS = {"_bootstrap", "_bootstrap_inner", "run"}  # hidden frames of threading

_live_groups = {}  # pid -> Popen, every process group we started


def clean_env(**extra):
    """The environment without PYTHON* variables (they would leak into targets and gdb)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(extra)
    return env


def spawn(argv, **kwargs):
    """Start argv in its own process group; it is killed at exit if still running."""
    kwargs.setdefault("env", clean_env())
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    proc = subprocess.Popen([str(a) for a in argv], start_new_session=True, **kwargs)
    _live_groups[proc.pid] = proc
    return proc


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    _live_groups.pop(proc.pid, None)


@atexit.register
def _kill_all_groups():
    for proc in list(_live_groups.values()):
        kill_group(proc)


def task_status(pid):
    """{tid: {"State": ..., "TracerPid": ...}} for every thread of pid."""
    result = {}
    for task in Path("/proc/%d/task" % pid).iterdir():
        try:
            text = (task / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        result[int(task.name)] = {"State": fields["State"].strip(), "TracerPid": int(fields["TracerPid"])}
    return result


def wait_until_all_sleeping(pid, timeout=20.0):
    """Wait until every thread of pid is in state S in two polls in a row."""
    deadline = time.monotonic() + timeout
    settled = 0
    while time.monotonic() < deadline:
        states = [s["State"][0] for s in task_status(pid).values()]
        settled = settled + 1 if states and all(s == "S" for s in states) else 0
        if settled == 2:
            return
        time.sleep(0.02)
    raise AssertionError("threads of %d never all slept: %s" % (pid, task_status(pid)))


def wait_for_ready(proc, fifo, timeout, describe_failure=lambda: ""):
    """Wait until proc writes "ready" to fifo and return what it wrote; AssertionError if it
    exits or times out first."""
    deadline = time.monotonic() + timeout
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        received = b""
        while b"ready\n" not in received:
            if proc.poll() is not None:
                raise AssertionError("target exited with %s: %s" % (proc.returncode, describe_failure()))
            if time.monotonic() > deadline:
                raise AssertionError("target not ready after %.0fs: %s" % (timeout, describe_failure()))
            if select.select([fd], [], [], 0.1)[0]:
                received += os.read(fd, 64)
    finally:
        os.close(fd)
    return received.decode(errors="replace")


def spawn_until_ready(argv, fifo, timeout=30.0):
    """Start argv (which writes "ready" to `fifo`) and wait for it; the process is killed on failure."""
    os.mkfifo(fifo)
    proc = spawn(argv)
    try:
        wait_for_ready(proc, fifo, timeout)
    except BaseException:
        kill_group(proc)
        raise
    return proc


SYS_TGKILL = 234  # x86-64


def signal_main_thread(pid, signum):
    """Signal the main thread itself: a process-directed signal may land on another thread,
    whose C handler only sets a flag that a main thread asleep in select() (<= 3.10) never sees."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_TGKILL, pid, pid, signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill(%d, %d, %d)" % (pid, pid, signum))


class ScenarioProcess:
    """A scenario program run by one interpreter, parked and with its truth."""

    def __init__(self, interpreter, workdir, script="parked_threads.py", command_prefix=(), env=None,
                 kernel_cores=False):
        self.interpreter = Path(interpreter)
        self.kernel_cores = kernel_cores  # runs in workdir, where a kernel core of it lands (dump_by_kernel)
        self.env = env  # None: clean_env()
        self.workdir = Path(workdir)
        self.script = SCENARIO_DIR / script
        self.command_prefix = list(command_prefix)  # e.g. unshare: the interpreter runs under it
        self.truth_path = self.workdir / "truth.json"
        self.ready_fifo = self.workdir / "ready.fifo"
        self.pong_path = self.workdir / "pong.txt"
        self.log_path = self.workdir / "scenario.log"
        self.proc = None
        self.truth = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=30.0):
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.ready_fifo)
        with open(self.log_path, "wb") as log:
            argv = self.command_prefix + [self.interpreter, self.script, self.truth_path, self.ready_fifo, self.pong_path]
            extra = {"cwd": str(self.workdir), "preexec_fn": enable_core_dumps} if self.kernel_cores else {}
            self.proc = spawn(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env or clean_env(), **extra)
        try:
            wait_for_ready(self.proc, self.ready_fifo, timeout, self.log)
            self.truth = json.loads(self.truth_path.read_text())
            wait_until_all_sleeping(self.pid)
        except BaseException:
            self.stop()
            raise
        return self

    def log(self):
        return self.log_path.read_text(errors="replace")[-2000:]

    def ping(self, timeout=10.0):
        """True if the target runs Python code again (its SIGUSR1 handler answers)."""
        before = self._pongs()
        signal_main_thread(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pongs() > before:
                return True
            time.sleep(0.02)
        return False

    def _pongs(self):
        try:
            return self.pong_path.read_text().count("pong")
        except FileNotFoundError:
            return 0

    def stop(self):
        if self.proc is not None:
            kill_group(self.proc)

    def dump_by_kernel(self, timeout=120):
        """Ends the scenario with SIGABRT so that the kernel dumps it; returns the core's path.
        Its threads are parked in system calls, so the core holds them as the truth says."""
        return dump_by_kernel(self.proc, self.workdir, timeout)


def enable_core_dumps():
    """preexec_fn of a child whose crash the kernel should dump (core_pattern `core`: in its cwd)."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def kernel_core_pattern():
    """The kernel's core_pattern; tests of kernel cores skip when it pipes cores elsewhere."""
    return Path("/proc/sys/kernel/core_pattern").read_text().strip()


def dump_by_kernel(proc, workdir, timeout=120):
    """SIGABRT to proc (started in workdir with enable_core_dumps); the core the kernel wrote
    there (core_pattern `core`, or `core.PID`). The caller skips when core_pattern pipes."""
    os.kill(proc.pid, signal.SIGABRT)
    try:
        returncode = proc.wait(timeout=timeout)
    finally:
        kill_group(proc)
    cores = [p for p in Path(workdir).iterdir() if re.fullmatch(r"core(\.%d)?" % proc.pid, p.name)]
    if returncode != -signal.SIGABRT or len(cores) != 1:
        raise AssertionError("no kernel core of %d in %s (exit %s, core_pattern %r)"
                             % (proc.pid, workdir, returncode, kernel_core_pattern()))
    return cores[0]


def make_core(pid, prefix, timeout=180):
    """gcore the process; returns the core path."""
    proc = subprocess.run(
        ["gcore", "-o", str(prefix), str(pid)],
        env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )
    core = Path("%s.%d" % (prefix, pid))
    if proc.returncode != 0 or not core.exists():
        raise AssertionError("gcore failed (%d): %s%s" % (proc.returncode, proc.stdout, proc.stderr))
    refill_unread_sections(core, pid, proc.stderr)
    return core


GCORE_READ_FAILED = re.compile(r"Memory read failed for corefile section, \d+ bytes at (0x[0-9a-f]+)")
PAGE = 4096


def refill_unread_sections(core, pid, gcore_stderr):
    """Fill in the parts of a core that gdb 13 could not read, page by page.

    glibc >= 2.41 puts thread-stack guard pages inside the stack's own mapping
    (MADV_GUARD_INSTALL); a read that touches one fails, and gdb 13 then leaves the rest
    of the section zero, thread stacks included.  The kernel's own dumps skip just the
    guard pages, which is what this does.  The scenario's threads are parked in system
    calls, so their memory is the same now as when gcore stopped them."""
    starts = [int(address, 16) for address in GCORE_READ_FAILED.findall(gcore_stderr)]
    if not starts:
        return
    with open(core, "r+b") as out, open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for start in starts:
            segment = core_segment_containing(out, start)
            if segment is None:
                continue
            vaddr, offset, filesz = segment
            for address in range(start - (start - vaddr) % PAGE, vaddr + filesz, PAGE):
                try:
                    mem.seek(address)
                    data = mem.read(PAGE)
                except (OSError, OverflowError):
                    continue  # a guard page, or [vsyscall] past the file offsets /proc/PID/mem takes
                out.seek(offset + address - vaddr)
                out.write(data)


def core_segment_containing(core, address):
    """(vaddr, file offset, file size) of the core's PT_LOAD holding `address`, or None."""
    core.seek(0)
    header = core.read(64)
    phoff, = struct.unpack_from("<Q", header, 32)
    phentsize, phnum = struct.unpack_from("<HH", header, 54)
    for index in range(phnum):
        core.seek(phoff + index * phentsize)
        p_type, _, offset, vaddr, _, filesz, _, _ = struct.unpack("<IIQQQQQQ", core.read(56))
        if p_type == 1 and vaddr <= address < vaddr + filesz:
            return vaddr, offset, filesz
    return None


def run_tool(binary, args, env=None, timeout=60):
    """Run the tool to completion; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [str(binary)] + [str(a) for a in args],
        env=env or clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )


def describe(result):
    return "exit %s\nstderr: %s\nstdout: %s" % (result.returncode, result.stderr[-3000:], result.stdout[:3000])


def stderr_is_one_line(result):
    text = result.stderr.rstrip("\n")
    return bool(text.strip()) and "\n" not in text


def without_process_header(text):
    """The tool's text output without the `Process ...` lines a core's output starts with
    (the debugger front-ends leave the process to the debugger)."""
    if not text.startswith("Process "):
        return text
    return text.split("\n\n", 1)[1] if "\n\n" in text else ""


def without_process(snapshot):
    """A copy of the tool's JSON without the `process` object of a core."""
    return {key: value for key, value in snapshot.items() if key != "process"}


def is_bootstrap(frame, truth):
    """Whether a truth frame is one of threading's thread bootstrap frames."""
    return frame["filename"] == truth["threading_file"] and frame["name"] in BOOTSTRAP_FUNCTIONS


def run_once_on(tool, tool_runs, target, objects=(), options=(), timeout=120):
    """The tool on a scenario's target (["pid", PID] or ["core", CORE, ...]), with --object for
    each address of `objects`, then `options`: each distinct run once a session (tool_runs), a
    live target's threads let settle before it."""
    args = list(target)
    for address in objects:
        args += ["--object", hex(address)]
    args += list(options)
    key = (str(tool),) + tuple(str(a) for a in args)
    if key not in tool_runs:
        if args[0] == "pid":
            wait_until_all_sleeping(args[1])
        tool_runs[key] = run_tool(tool, args, timeout=timeout)
    return tool_runs[key]


class ScenarioCache:
    """The scenario processes (and their cores) of the interpreter the worker is on, one per
    variant, kept while the worker runs that interpreter's tests (xdist's loadgroup gives each
    interpreter one worker), whatever order its tests and variants come in: a parametrized
    session fixture would restart them at every change of variant.

    `env_for(variant)` is the scenario's environment; `before_start(python, variant)` may skip
    a variant that cannot run here."""

    def __init__(self, tmp_path_factory, name, script, env_for=lambda variant: clean_env(), before_start=None):
        self.tmp = tmp_path_factory
        self.name, self.script, self.env_for, self.before_start = name, script, env_for, before_start
        self.label = None
        self.scenarios = {}
        self.cores = {}

    def scenario(self, python, interp, variant=None):
        if interp.label != self.label:
            self.close()
            self.label = interp.label
        if variant not in self.scenarios:
            if self.before_start:
                self.before_start(python, variant)
            suffix = "-%s" % variant if variant else ""
            workdir = self.tmp.mktemp("%s-%s%s-" % (self.name, interp.label, suffix))
            self.scenarios[variant] = ScenarioProcess(python, workdir, script=self.script,
                                                      env=self.env_for(variant)).start(timeout=120)
        return self.scenarios[variant]

    def core(self, variant=None):
        """A core of the variant's process (started by scenario()), made once."""
        if variant not in self.cores:
            process = self.scenarios[variant]
            self.cores[variant] = make_core(process.pid, process.workdir / "core")
            wait_until_all_sleeping(process.pid)
        return self.cores[variant]

    def close(self):
        for core in self.cores.values():
            core.unlink()
        for process in self.scenarios.values():
            process.stop()
        self.scenarios, self.cores = {}, {}

