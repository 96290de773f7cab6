"""Native frames (issue 18): `--native` / `--native-all`, live and from cores, on every interpreter.

The scenario (scenarios/native_frames.py) runs a C extension compiled here for each interpreter
(native_ext/stackscope_native_ext.c, gcc -O0 -g against the interpreter's own headers; the
Debian builds' headers are in their unpacked root). Its main thread runs
outer -> ext.call_back(middle) -> middle -> ext.block_forever() (read() on a pipe, GIL
released), a Python thread sleeps in time.sleep, two wait in glibc's futex waits (a Lock's
acquire with a timeout and without), and a C thread that never ran Python code
blocks in read(). The truth is the scenario's: the tids, the Python functions of each thread
(outermost first, as the tool names them), the file that holds _PyRuntime.

Tests, each live and from a core on every interpreter (one scenario process and one core each):
- test_native_json_order / test_native_all_json: the main thread's frames in order (outer,
  native_ext_call_back, middle, native_ext_block_forever, native_ext_block_in_read, then libc),
  the C thread (interpreter_id null, its C functions), the sleeper and the futex waiters (their
  Python frames, then libc);
  --native-all shows frames in the file that holds _PyRuntime (the eval loop where it has symbols);
- test_native_hides_interpreter_frames: --native is --native-all without exactly those;
- test_native_tree: the same order in the --native tree;
- test_matches_gdb: every thread's --native-all native frames against gdb's (below);
- test_missing_extension_in_core: the extension moved away: Python frames, native_error names it;
- test_restart_syscall: a call resumed as restart_syscall is still named as the first read named it
  (the CLI twice, gdb, lldb, a core);
- test_signal_frame_matches_gdb: a Python function run by a C signal handler, through the signal
  frame, against gdb's bt, live and from a core;
- test_usage_errors: --native(-all) with --no-block or --object exits 2.

Cores: gcore of the live process, except for the Debian unstable builds (built_path: glibc
>= 2.41 guard pages in thread stacks, which gdb 13's gcore loses), whose core the kernel
writes from a second process of the same scenario (ended with SIGABRT).

gdb's unwinding on the same stop (`thread apply all bt`, read through gdb's Python API to know
each frame's type) is the oracle of the native frames (test_matches_gdb): same threads, same
frames in the same order, each inline where gdb's is. Normalisations, each only where it must be:
- gdb's frames are innermost first: reversed;
- gdb's tail-call frames (gdb.TAILCALL_FRAME: made up from DWARF call-site information for a
  function that jumped to its callee, e.g. PyObject_Call -> PyVectorcall_Call on 3.8, or glibc
  2.36's do_futex_wait and __futex_abstimed_wait_cancelable64 in the futex waits) are not on
  the stack, which the tool unwinds: dropped;
- libc's clone3 entry: the tool names it after .symtab (`__clone3`), gdb after its DWARF
  (`clone3`); frames outside the extension and the interpreter's file (libc, ld.so) compare with
  leading underscores removed, and glibc's internal alias prefix (`__GI_kill` is `kill`);
- gdb stops at main unless told `set backtrace past-main on`, which it is;
- a frame without a symbol: the tool's null is gdb's `??` (the stripped Debian executables);
- frames in the extension, and frames in the interpreter's file that have DWARF (pyenv's
  libpython, the Debian -dbg executables), compare exactly, inline frames included.
"""
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from gdb_frontend import gdb_program, gdb_script, run_gdb
from lldb_frontend import Command, find_lldb, plugin_path, run_lldb
from interpreters import INTERPRETERS
from harness import ScenarioProcess, clean_env, describe, kernel_core_pattern, make_core, run_once_on, run_tool, \
    spawn, kill_group, wait_for_ready, wait_until_all_sleeping

EXT_SOURCE = Path(__file__).resolve().parent / "native_ext" / "stackscope_native_ext.c"
EXT_PREFIX = "native_ext_"
SYS_RESTART_SYSCALL = 219  # x86-64

pytestmark = pytest.mark.column("native")


def uses_kernel_cores(interp):
    return interp.built_path is not None


def unpacked_root(python, interp):
    """The root a Debian build was unpacked into (root/usr/bin/python3.X), or / for the others."""
    return Path(python).parents[2] if interp.built_path else Path("/")


def sysconfig_var(python, name):
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_config_var(%r))" % name],
                         env=clean_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def compile_extension(python, interp, out_dir, source=EXT_SOURCE):
    """`source` compiled for this interpreter into out_dir: the extension's path."""
    root = unpacked_root(python, interp)
    include = root / sysconfig_var(python, "INCLUDEPY").lstrip("/")
    if not (include / "Python.h").is_file():
        pytest.skip("!!! PYTHON HEADERS OF %s MISSING: no %s/Python.h" % (interp.label, include))
    target = Path(out_dir) / ("stackscope_native_ext" + sysconfig_var(python, "EXT_SUFFIX"))
    command = ["gcc", "-O0", "-g", "-shared", "-fPIC", "-Wall", "-Werror", "-I", str(include),
               "-I", str(root / "usr" / "include"), "-o", str(target), str(source), "-lpthread"]
    built = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, "%s\n%s" % (" ".join(command), built.stderr)
    return target


@pytest.fixture(scope="session")
def native_ext(python, interp, tmp_path_factory):
    """The extension compiled for this interpreter (once per session): its path."""
    return compile_extension(python, interp, tmp_path_factory.mktemp("native-ext-%s-" % interp.label))


def start_scenario(python, native_ext, workdir, kernel_cores=False):
    """The scenario with its own copy of the extension (workdir/ext), so that a test may move it."""
    ext_dir = Path(workdir) / "ext"
    ext_dir.mkdir(parents=True)
    shutil.copy2(native_ext, ext_dir / native_ext.name)
    env = clean_env(STACKSCOPE_NATIVE_EXT_DIR=str(ext_dir))
    return ScenarioProcess(python, workdir, script="native_frames.py", env=env,
                           kernel_cores=kernel_cores).start(timeout=120)


@pytest.fixture(scope="session")
def native_scenario(python, native_ext, interp, tmp_path_factory):
    process = start_scenario(python, native_ext, tmp_path_factory.mktemp("native-frames-%s-" % interp.label))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def native_core(python, native_ext, interp, native_scenario, tmp_path_factory):
    """(core, truth): gcore of native_scenario, or a kernel core of a second process (uses_kernel_cores)."""
    if not uses_kernel_cores(interp):
        core = make_core(native_scenario.pid, native_scenario.workdir / "core")
        wait_until_all_sleeping(native_scenario.pid)
        yield core, native_scenario.truth
    else:
        pattern = kernel_core_pattern()
        if pattern.startswith("|"):
            pytest.skip("!!! KERNEL CORES UNAVAILABLE: core_pattern pipes cores to %s" % pattern)
        workdir = tmp_path_factory.mktemp("native-frames-kernel-%s-" % interp.label)
        process = start_scenario(python, native_ext, workdir, kernel_cores=True)
        try:
            core = process.dump_by_kernel()
        finally:
            process.stop()
        yield core, process.truth
    core.unlink()


@pytest.fixture
def target(mode, python, request):
    """(tool target arguments, truth) of the scenario in this mode."""
    if mode == "live":
        process = request.getfixturevalue("native_scenario")
        return ["pid", process.pid], process.truth
    core, truth = request.getfixturevalue("native_core")
    return ["core", core, "--executable", python], truth


@pytest.fixture
def read(tool, tool_runs, target):
    """read(*options): the tool's completed run on the target, each distinct run once a session."""
    def run(*options):
        return run_once_on(tool, tool_runs, target[0], options=options)

    return run


def read_json(read, *options):
    result = read(*options, "--json")
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def thread_by_tid(snapshot, tid):
    threads = [t for t in snapshot["threads"] if t["tid"] == tid]
    assert len(threads) == 1, (tid, [t["tid"] for t in snapshot["threads"]])
    return threads[0]


def interesting(frames, python_functions):
    """The frames the scenario made: its Python functions and the extension's C functions."""
    keep = []
    for frame in frames:
        if frame["kind"] == "python" and frame["function"] in python_functions:
            keep.append(("python", frame["function"]))
        elif frame["kind"] == "native" and frame["symbol"] and frame["symbol"].startswith(EXT_PREFIX):
            keep.append(("native", frame["symbol"]))
    return keep


def expected_main(truth):
    """outer ... native_ext_call_back ... middle ... native_ext_block_forever, native_ext_block_in_read."""
    functions = truth["main_functions"]
    assert functions[-2:] == ["outer", "middle"], functions
    return [("python", f) for f in functions[:-1]] + [("native", "native_ext_call_back"), ("python", "middle"),
                                                      ("native", "native_ext_block_forever"),
                                                      ("native", "native_ext_block_in_read")]


def same_file(a, b):
    return a is not None and b is not None and os.path.realpath(a) == os.path.realpath(b)


def in_file_of(frame, path):
    """Whether a native frame lies in `path` (a path of the scenario's process)."""
    return same_file(frame["library"], path)


def check_threads(snapshot, truth):
    main = thread_by_tid(snapshot, truth["main_tid"])
    assert interesting(main["frames"], truth["main_functions"]) == expected_main(truth), main["frames"]
    assert [f["function"] for f in main["frames"] if f["kind"] == "python"] == truth["main_functions"]
    last = main["frames"][-1]
    assert last["kind"] == "native" and os.path.basename(last["library"]).startswith("libc"), last
    c_thread = thread_by_tid(snapshot, truth["c_thread_tid"])
    assert c_thread["interpreter_id"] is None and c_thread["native_error"] is None, c_thread
    assert [f for f in c_thread["frames"] if f["kind"] != "native"] == []
    assert interesting(c_thread["frames"], ()) == [("native", "native_ext_c_thread_main"),
                                                   ("native", "native_ext_c_thread_block"),
                                                   ("native", "native_ext_block_in_read")], c_thread["frames"]
    sleeper = thread_by_tid(snapshot, truth["sleeper_tid"])
    assert sleeper["native_error"] is None, sleeper
    assert [f["function"] for f in sleeper["frames"] if f["kind"] == "python"] == truth["sleeper_functions"]
    last_python = max(i for i, f in enumerate(sleeper["frames"]) if f["kind"] == "python")
    after = sleeper["frames"][last_python + 1:]
    assert after and all(f["kind"] == "native" for f in after), sleeper["frames"]
    assert os.path.basename(after[-1]["library"]).startswith("libc"), after  # the sleep's system call
    for waiter in ("timed_waiter", "untimed_waiter"):
        thread = thread_by_tid(snapshot, truth[waiter + "_tid"])
        assert thread["native_error"] is None, thread
        python = [i for i, f in enumerate(thread["frames"]) if f["kind"] == "python"]
        assert [thread["frames"][i]["function"] for i in python] == truth[waiter + "_functions"]
        after = thread["frames"][python[-1] + 1:]
        assert after and all(f["kind"] == "native" for f in after), thread["frames"]
        assert os.path.basename(after[-1]["library"]).startswith("libc"), after  # the futex wait
    assert main["native_error"] is None, main


def test_native_json_order(read, target):
    snapshot = read_json(read, "--native")
    truth = target[1]
    check_threads(snapshot, truth)
    assert {t["tid"] for t in snapshot["threads"]} >= {truth["main_tid"], truth["sleeper_tid"], truth["c_thread_tid"]}


def test_native_all_json(read, target):
    snapshot = read_json(read, "--native-all")
    truth = target[1]
    check_threads(snapshot, truth)
    main = thread_by_tid(snapshot, truth["main_tid"])
    own = [f for f in main["frames"] if f["kind"] == "native" and in_file_of(f, truth["interpreter_file"])]
    assert own, main["frames"]  # the interpreter's own frames are shown
    if any(f["filename"] for f in own):  # symbols and DWARF (not the stripped Debian executables)
        assert any((f["symbol"] or "").startswith("_PyEval_EvalFrame") for f in own), own


def test_native_hides_interpreter_frames(read, target):
    """--native is --native-all without the frames in the file that holds _PyRuntime."""
    truth = target[1]
    shown = read_json(read, "--native-all")
    collapsed = read_json(read, "--native")
    for thread in shown["threads"]:
        expected = [f for f in thread["frames"] if not (f["kind"] == "native" and in_file_of(f, truth["interpreter_file"]))]
        assert expected != thread["frames"] or thread["interpreter_id"] is None, thread["tid"]
        assert thread_by_tid(collapsed, thread["tid"])["frames"] == expected, thread["tid"]


PYTHON_LINE = re.compile(r"^╠ (?!\[native\])(\S+) in \S+ at ")
NATIVE_LINE = re.compile(r"^╠ \[native\] (\S+)")


def test_native_tree(read, target):
    result = read("--native")
    assert result.returncode == 0, describe(result)
    truth = target[1]
    sections = {}
    for section in result.stdout.split("\n\n"):
        header = re.search(r"^Thread (\d+)", section, re.M)
        if header:
            sections[int(header.group(1))] = section
    main = []
    for line in sections[truth["main_tid"]].splitlines():
        python_line, native_line = PYTHON_LINE.match(line), NATIVE_LINE.match(line)
        if python_line and python_line.group(1) in truth["main_functions"]:
            main.append(("python", python_line.group(1)))
        elif native_line and native_line.group(1).startswith(EXT_PREFIX):
            main.append(("native", native_line.group(1)))
    assert main == expected_main(truth), sections[truth["main_tid"]]
    c_thread = sections[truth["c_thread_tid"]]
    assert "no Python thread state" in c_thread.splitlines()[0], c_thread
    assert [m.group(1) for m in map(NATIVE_LINE.match, c_thread.splitlines()) if m and m.group(1).startswith(EXT_PREFIX)] \
        == ["native_ext_c_thread_main", "native_ext_c_thread_block", "native_ext_block_in_read"], c_thread


GDB_STACKS = """
import json
import gdb

for inferior in gdb.inferiors():
    for thread in inferior.threads():
        thread.switch()
        frame, frames = gdb.newest_frame(), []
        while frame is not None:
            frames.append([frame.name() or "??", frame.type() == gdb.INLINE_FRAME, frame.type() == gdb.TAILCALL_FRAME,
                           frame.type() == gdb.SIGTRAMP_FRAME])
            try:
                frame = frame.older()
            except gdb.error:
                break
        print("STACK %d %s" % (thread.ptid[1], json.dumps(frames)))
"""


def gdb_backtraces(python, target, workdir):
    """{tid: [(function name, inlined, signal trampoline)], outermost first} from gdb's unwinding
    of every thread (what `thread apply all bt` shows, through gdb's Python API so that each
    frame's type is known), without gdb's tail-call frames."""
    script = Path(workdir) / "gdb_stacks.py"
    script.write_text(GDB_STACKS)
    args = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off", "-iex", "set auto-load no",
            "-ex", "set backtrace past-main on", "-x", str(script)]
    if target[0] == "pid":
        args += ["-p", str(target[1])]
    else:
        args += [str(python), str(target[1])]
    out = subprocess.run(args, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    stacks = {}
    for line in out.stdout.splitlines():
        if line.startswith("STACK "):
            _, tid, frames = line.split(" ", 2)
            stacks[int(tid)] = [(name, inlined, sigtramp)
                                for name, inlined, tailcall, sigtramp in json.loads(frames)[::-1] if not tailcall]
    assert stacks, out.stdout[-3000:] + out.stderr[-3000:]
    return stacks


def test_matches_gdb(read, target, python, tmp_path):
    truth = target[1]
    snapshot = read_json(read, "--native-all")
    if target[0][0] == "pid":
        wait_until_all_sleeping(truth["pid"])
    gdb = gdb_backtraces(python, target[0], tmp_path)
    extension = truth["extension"]
    assert set(gdb) == {t["tid"] for t in snapshot["threads"]}, (sorted(gdb), [t["tid"] for t in snapshot["threads"]])
    for thread in snapshot["threads"]:
        assert_same_native_frames(thread, gdb[thread["tid"]], lambda frame: in_file_of(frame, extension) or (
            in_file_of(frame, truth["interpreter_file"]) and frame["filename"] is not None))


def assert_same_native_frames(thread, theirs, exact):
    """A thread's native frames (JSON) are gdb's (gdb_backtraces): the same number, inline where
    gdb's are, the same names (exactly where exact(frame) says, else as the module doc says)."""
    ours = [f for f in thread["frames"] if f["kind"] == "native"]
    assert len(ours) == len(theirs), (thread["tid"], [f["symbol"] for f in ours], theirs)
    assert [f["inlined"] for f in ours] == [inlined for _, inlined, _ in theirs], (thread["tid"], ours, theirs)
    for frame, (name, _, _) in zip(ours, theirs):
        if exact(frame):
            assert frame["symbol"] == name, (thread["tid"], frame, name, [f["symbol"] for f in ours], theirs)
        else:
            assert loose_name(frame["symbol"] or "??") == loose_name(name), \
                (thread["tid"], frame, name, [f["symbol"] for f in ours], theirs)


def loose_name(name):
    """A libc (or ld.so) function's name without its leading underscores and glibc's internal
    alias prefix: `__GI_kill` and `kill` are one address's aliases, of which gdb may show either."""
    name = name.lstrip("_")
    return name[3:].lstrip("_") if name.startswith("GI_") else name


SIGNAL_PROGRAM = """
import ctypes, os, signal, sys, time

def handler(signum):
    with open(sys.argv[1], "w") as out:
        out.write("ready\\n")
    time.sleep(10 ** 6)

HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_int)(handler)
ctypes.CDLL(None).signal(signal.SIGUSR1, HANDLER)  # a C handler: the kernel's signal frame, libc's __restore_rt
os.kill(os.getpid(), signal.SIGUSR1)
"""


def test_signal_frame_matches_gdb(tool, python, tmp_path):
    """A Python function called by a C signal handler (ctypes), blocked there: the native frames
    go through the kernel's signal frame (libc's __restore_rt, whose CFI restores every register
    from the ucontext on the stack) into the interrupted kill() and on to _start, as gdb's bt
    does, live and from a core, with the Python frames on both sides of the signal."""
    fifo = tmp_path / "ready.fifo"
    os.mkfifo(fifo)
    proc = spawn([python, "-c", SIGNAL_PROGRAM, fifo])
    try:
        wait_for_ready(proc, fifo, 60)
        wait_until_all_sleeping(proc.pid)
        core = make_core(proc.pid, tmp_path / "core")  # one thread: no thread stack for gcore to lose
        wait_until_all_sleeping(proc.pid)
        for target in (["pid", proc.pid], ["core", core]):
            result = run_tool(tool, target + ([] if target[0] == "pid" else ["--executable", python]) +
                              ["--native-all", "--json"])
            assert result.returncode == 0, describe(result)
            thread = json.loads(result.stdout)["threads"][0]
            assert thread["native_error"] is None, thread
            assert [f["function"] for f in thread["frames"] if f["kind"] == "python"] == ["<module>", "handler"]
            gdb = gdb_backtraces(python, target, tmp_path)
            assert_same_native_frames(thread, gdb[proc.pid], lambda frame: False)
            assert [sigtramp for _, _, sigtramp in gdb[proc.pid]].count(True) == 1, gdb  # the case under test
        core.unlink()
    finally:
        kill_group(proc)


def read_without_extension(tool, tool_runs, target):
    """The core read with --native --json while the extension .so is moved away (once a session)."""
    extension = Path(target[1]["extension"])
    key = ("without-extension",) + tuple(str(a) for a in target[0])
    if key not in tool_runs:
        moved = extension.with_name(extension.name + ".moved")
        extension.rename(moved)
        try:
            tool_runs[key] = run_tool(tool, list(target[0]) + ["--native", "--json"])
        finally:
            moved.rename(extension)
    return tool_runs[key]


def assert_extension_unused(snapshot, truth):
    """The threads that ran the extension's code (main, the C thread) without it: their Python
    frames all there, nothing named in its file, and native_error naming it. Returns them."""
    name = Path(truth["extension"]).name
    threads = []
    for tid, functions in ((truth["main_tid"], truth["main_functions"]), (truth["c_thread_tid"], [])):
        thread = thread_by_tid(snapshot, tid)
        assert [f["function"] for f in thread["frames"] if f["kind"] == "python"] == functions
        assert thread["native_error"] and name in thread["native_error"], thread
        assert interesting(thread["frames"], ()) == [], thread["frames"]  # nothing named in the file
        threads.append(thread)
    return threads


@pytest.mark.parametrize("mode", ["core"])
def test_missing_extension_in_core(tool, tool_runs, target):
    """The extension .so moved away after the core: the Python frames still come out, and the
    threads that ran its code say which file is missing (their native frames stop there)."""
    truth = target[1]
    result = read_without_extension(tool, tool_runs, target)
    # README (native frames, "What is missing"): this does not change the exit code, which
    # reports the Python frames (all read here)
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)
    assert_extension_unused(snapshot, truth)
    sleeper = thread_by_tid(snapshot, truth["sleeper_tid"])
    assert [f["function"] for f in sleeper["frames"] if f["kind"] == "python"] == truth["sleeper_functions"]


@pytest.mark.parametrize("mode", ["core"])
def test_another_build_of_extension_in_core(tool, target, python, interp, tmp_path):
    """--lib-search-path offers another build of the extension (its build id differs from the one
    the core recorded): it is refused, the Python frames still come out, and the threads that ran
    its code name the file and both build ids."""
    truth = target[1]
    source = tmp_path / "another_build.c"
    source.write_text(EXT_SOURCE.read_text() + "\nint stackscope_another_build(void) { return 42; }\n")
    compile_extension(python, interp, tmp_path, source)
    result = run_tool(tool, list(target[0]) + ["--native", "--json", "--lib-search-path", tmp_path])
    assert result.returncode == 0, describe(result)  # README: the exit code reports the Python frames
    snapshot = json.loads(result.stdout)
    for thread in assert_extension_unused(snapshot, truth):
        assert "build id" in thread["native_error"], thread["native_error"]


BLOCKING_CALLS = {  # what the restart_syscall test's process blocks in, with a timeout
    "poll": "import select; select.poll().poll(10 ** 9)",
    "sleep": "import ctypes; ctypes.CDLL(None).sleep(10 ** 6)",  # libc's sleep(): a relative clock_nanosleep
    "lock": "import threading; lock = threading.Lock(); lock.acquire(); lock.acquire(timeout=10 ** 6)",
}
BLOCKING_PROGRAM = """
import sys
with open(sys.argv[1], "w") as out:
    out.write("ready\\n")
%s
"""


def header_of(result, tid):
    assert result.returncode == 0, describe(result)
    headers = [line for line in result.stdout.splitlines() if line.startswith("Thread %d " % tid)]
    assert len(headers) == 1, result.stdout
    return headers[0]


SYSCALL_NAMES = {7: "poll", 202: "futex", 230: "clock_nanosleep", 271: "ppoll", SYS_RESTART_SYSCALL: "restart_syscall"}
SYSCALL_NUMBERS = {name: number for number, name in SYSCALL_NAMES.items()}
RESTARTED_BY_ITSELF = {"ppoll"}  # the kernel restarts an interrupted ppoll as ppoll (its timeout updated)


def current_syscall(pid):
    """The system call number pid's main thread is in, or None while it runs."""
    field = Path("/proc/%d/task/%d/syscall" % (pid, pid)).read_text().split()[0]
    return int(field) if field.lstrip("-").isdigit() else None


def restart_params():
    return [pytest.param(interp, call, id="%s-%s" % (interp.label, call), marks=[pytest.mark.xdist_group(interp.label)])
            for interp in INTERPRETERS for call in BLOCKING_CALLS]


@pytest.fixture(scope="session")
def call(request):
    return request.param


def wait_for_syscall(pid, number, timeout=10):
    """Whether pid's main thread is (back) in system call `number` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while current_syscall(pid) != number and time.monotonic() < deadline:
        time.sleep(0.02)
    return current_syscall(pid) == number


@pytest.mark.parametrize("interp,call", restart_params(), indirect=True, scope="session")
def test_restart_syscall(tool, python, tmp_path, call):
    """A thread blocked with a timeout, read twice: the first read interrupts the call, which the
    kernel then resumes as restart_syscall; both reads, gdb's py-stackscope after them (its
    front-end passes the thread's registers), lldb's `stackscope all-threads` (its plugin reads
    them too) and a core made after the first name the call the thread made, as /proc says
    before the first read. (Python 3.15's poll() is ppoll, which the kernel restarts as itself:
    there the `sleep` call is the one that resumes as restart_syscall.)"""
    fifo = tmp_path / "ready.fifo"
    os.mkfifo(fifo)
    proc = spawn([python, "-c", BLOCKING_PROGRAM % BLOCKING_CALLS[call], fifo])
    try:
        wait_for_ready(proc, fifo, 60)
        wait_until_all_sleeping(proc.pid)
        name = SYSCALL_NAMES[current_syscall(proc.pid)]
        assert name != "restart_syscall"
        expected = "(idle in %s)" % name
        first = run_tool(tool, ["pid", proc.pid])
        assert expected in header_of(first, proc.pid), first.stdout
        resumed = name if name in RESTARTED_BY_ITSELF else "restart_syscall"
        assert wait_for_syscall(proc.pid, SYSCALL_NUMBERS[resumed])  # the case under test is exercised
        second = run_tool(tool, ["pid", proc.pid])
        assert expected in header_of(second, proc.pid), second.stdout
        # gdb stops it in restart_syscall too: its front-end passes that thread's registers.
        assert wait_for_syscall(proc.pid, SYSCALL_NUMBERS[resumed])
        rc, out, err, _ = run_gdb(gdb_program(), ["-p", proc.pid, "-ex", "source %s" % gdb_script(), "-ex", "py-stackscope"])
        gdb_header = next((line for line in out.splitlines() if line.startswith("Thread ")), "")
        assert rc == 0 and expected in gdb_header, out + err
        # lldb too: its plugin reads the registers of the thread /proc shows in restart_syscall.
        assert wait_for_syscall(proc.pid, SYSCALL_NUMBERS[resumed])
        lldb, plugin = find_lldb(), plugin_path()
        if lldb is None or not plugin.is_file():
            pytest.skip("!!! LLDB OR ITS PLUGIN MISSING: lldb-16 on PATH, %s" % plugin)
        run = run_lldb(lldb, plugin, tmp_path, "restart", ["process attach -p %d" % proc.pid],
                       [Command("threads", "stackscope all-threads")], live_pid=proc.pid)
        lldb_header = next((line for line in run.result("threads").splitlines() if line.startswith("thread ")), "")
        assert expected in lldb_header, run.describe()
        core = make_core(proc.pid, tmp_path / "core")  # one thread: no thread stack for gcore to lose
        from_core = run_tool(tool, ["core", core, "--executable", python])
        core.unlink()
        assert expected in header_of(from_core, proc.pid), from_core.stdout
    finally:
        kill_group(proc)


@pytest.mark.parametrize("options", [["--no-block"], ["--object", "0x1000"]], ids=["no-block", "object"])
@pytest.mark.parametrize("native", ["--native", "--native-all"])
def test_usage_errors(tool, native, options):
    result = run_tool(tool, ["pid", os.getpid(), native] + options)
    assert result.returncode == 2, describe(result)
    assert result.stdout == "" and "--native" in result.stderr and len(result.stderr.strip().splitlines()) == 1, describe(result)
