"""Scenario: threads of the main interpreter and of a subinterpreter parked at known lines.

Run by the interpreter under test, CPython 3.12+ (keep Python 3.12 syntax):
    python subinterpreters.py TRUTH_JSON READY_FIFO PONG_FILE

Main interpreter (id 0): the main thread, renamed "main-renamed"; a worker
"main-worker"; and "sub-runner", which creates a subinterpreter and runs code in
it.  That code (this file, loaded as a module inside the subinterpreter) renames
the thread it runs on "sub-main" and starts a thread "sub-worker".  So the
sub-runner OS thread has a thread state in both interpreters: in the main one it
is blocked in the call that runs the subinterpreter, in the subinterpreter it is
sub-main.

Every thread blocks at a line tagged `# PARK: <tag>`.  The truth is recorded
from inside each interpreter, and by each thread about itself: a parking thread
hands its own frame object to its interpreter's collector (that interpreter's
main thread), which waits until that frame sits at its park line and then
describes the stack from it.  sys._current_frames() is not used: on 3.12 and
3.13 it walks every interpreter, keys the result by thread id only (the
sub-runner thread's two stacks collide) and builds frame objects for other
interpreters' frames.  The subinterpreter writes its part as TRUTH_JSON.sub.json;
the main interpreter merges it into TRUTH_JSON, then writes "ready" to
READY_FIFO.  SIGUSR1 appends "pong" to PONG_FILE.  Any failure ends the process
(its output says why); SIGALRM ends it after LIFETIME_SECONDS.

Low-level subinterpreter API per version (the common part: create() -> id,
run_string(id, source) and get_current()):
    3.12   _xxsubinterpreters: run_string raises RunFailedError on failure;
           get_current() returns an InterpreterID
    3.13+  _interpreters (3.14+ builds concurrent.interpreters on it): run_string
           (and exec) return the exception info, None when it went well;
           get_current() returns (id, whence)
create()'s default configuration ("isolated") gives the subinterpreter its own
GIL and forbids daemon threads there, so sub-worker is not a daemon.  The
interpreter is created on the thread that runs it: 3.12's run_string borrows the
interpreter's first thread state, which belongs to the creating thread.
"""
import importlib
import json
import os
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import (end_after_lifetime, install_pong_handler, park_tags, signal_ready,  # noqa: E402
                              stack_of, write_json)

PARK_TIMEOUT = 30.0
MAIN_DEPTH = 3
SUB_DEPTH = 2
SUB_MODULE_NAME = "stackscope_subinterpreter_scenario"
PARK_TAGS = {}  # line number -> tag, filled from this file's source
PARKED = {}  # ident -> (native id, frame of the park function): this interpreter's parked threads
PARKED_LOCK = threading.Lock()

# Run in the subinterpreter by sub-runner: load this file as a module and enter sub_main().
SUB_SOURCE = """\
import importlib.util
spec = importlib.util.spec_from_file_location({module!r}, {path!r})
scenario = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scenario)
scenario.sub_main({truth!r})
"""


# -- the subinterpreter API shims ------------------------------------------------------


def interpreters_module():
    for name in ("_interpreters", "_xxsubinterpreters"):  # 3.13+, 3.12
        try:
            return importlib.import_module(name)
        except ImportError:
            pass
    raise RuntimeError("Python %d.%d has no low-level interpreters module" % sys.version_info[:2])


def current_interpreter_id():
    current = interpreters_module().get_current()  # 3.12: an InterpreterID; 3.13+: (id, whence)
    return int(current[0] if isinstance(current, tuple) else current)


# -- parking --------------------------------------------------------------------------


def load_park_tags():
    PARK_TAGS.update(park_tags(__file__))


def park_line(tag):
    return next(line for line, t in PARK_TAGS.items() if t == tag)


def hand_over(frame):
    """Give the calling thread's park-function frame to this interpreter's collector."""
    with PARKED_LOCK:
        PARKED[threading.get_ident()] = (threading.get_native_id(), frame)


def recurse(depth, park):
    if depth == 0:
        park()
    else:
        recurse(depth - 1, park)


def park_main_worker():
    lock = threading.Lock()
    lock.acquire()
    hand_over(sys._getframe())
    lock.acquire()  # PARK: main-worker


def park_sub_worker():
    lock = threading.Lock()
    lock.acquire()
    hand_over(sys._getframe())
    lock.acquire()  # PARK: sub-worker


def run_subinterpreter(sub_truth_path):
    """sub-runner (main interpreter): run sub_main() in a new subinterpreter; never returns."""
    try:
        low = interpreters_module()
        interp_id = low.create()  # created by this thread, so its thread states belong to it
        source = SUB_SOURCE.format(module=SUB_MODULE_NAME, path=__file__, truth=sub_truth_path)
        run = getattr(low, "run_string", None) or low.exec  # exec: 3.13+, should run_string go
        hand_over(sys._getframe())
        failure = run(interp_id, source)  # PARK: run-sub
        print("scenario: the subinterpreter stopped: %s" % getattr(failure, "errdisplay", failure), flush=True)
    except BaseException:
        traceback.print_exc()
    sys.stdout.flush()
    os._exit(1)


# -- truth ----------------------------------------------------------------------------


def describe_frame(frame):
    code = frame.f_code
    return {
        "name": code.co_name,
        "qualname": getattr(code, "co_qualname", None),
        "filename": code.co_filename,
        "line": frame.f_lineno,
        "module": frame.f_globals.get("__name__"),
    }


def parked_stacks(expected_threads, timeout=PARK_TIMEOUT):
    """{ident: (native id, [frame dicts])} of the threads that handed over their frames, once
    all of them sit at their park lines and two polls in a row agree."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        with PARKED_LOCK:
            parked = dict(PARKED)
        current = {
            ident: (native_id, [describe_frame(f) for f in stack_of(frame)])
            for ident, (native_id, frame) in parked.items()
        }
        at_park_lines = all(frames[-1]["line"] in PARK_TAGS for _, frames in current.values())
        if len(current) == expected_threads and at_park_lines and current == previous:
            return current
        previous = current
        time.sleep(0.05)
    raise RuntimeError("threads did not park within %.0fs: %r" % (timeout, previous))


def own_stack(writer_code, tag):
    """The calling thread's stack as it will be once parked at `tag` in writer_code's frame."""
    frames = stack_of(sys._getframe())
    writer_index = max(i for i, f in enumerate(frames) if f.f_code is writer_code)
    described = [describe_frame(f) for f in frames[: writer_index + 1]]
    described[-1]["line"] = park_line(tag)
    return described


def thread_records(interpreter_id, stacks):
    threads = {t.ident: t for t in threading.enumerate()}
    return [
        {
            "interpreter_id": interpreter_id,
            "ident": ident,
            "native_id": native_id,
            "name": threads[ident].name,
            "park": PARK_TAGS.get(frames[-1]["line"]),
            "frames": frames,
        }
        for ident, (native_id, frames) in stacks.items()
    ]


def wait_for_file(path, timeout=PARK_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise RuntimeError("the subinterpreter wrote no truth within %.0fs" % timeout)
        time.sleep(0.05)
    with open(path) as source:
        return json.load(source)


# -- the subinterpreter ---------------------------------------------------------------


def sub_main(truth_path):
    """Runs inside the subinterpreter, on the sub-runner OS thread; never returns."""
    load_park_tags()
    # 3.12: this thread is the subinterpreter's threading._main_thread; 3.13+: a _DummyThread.
    threading.current_thread().name = "sub-main"
    threading.Thread(target=recurse, args=(1, park_sub_worker), name="sub-worker", daemon=False).start()
    recurse(SUB_DEPTH, lambda: write_sub_truth_and_park(truth_path))


def write_sub_truth_and_park(truth_path):
    interpreter_id = current_interpreter_id()
    stacks = parked_stacks(1)
    stacks[threading.get_ident()] = (threading.get_native_id(), own_stack(write_sub_truth_and_park.__code__, "sub-main"))
    write_json(truth_path, {"interpreter_id": interpreter_id, "threads": thread_records(interpreter_id, stacks)}, indent=1)
    time.sleep(100000)  # PARK: sub-main


# -- the main interpreter -------------------------------------------------------------


def write_truth_and_park(truth_path, ready_fifo):
    interpreter_id = current_interpreter_id()
    stacks = parked_stacks(2)  # main-worker, sub-runner
    sub_truth = wait_for_file(truth_path + ".sub.json")
    stacks[threading.get_ident()] = (threading.get_native_id(), own_stack(write_truth_and_park.__code__, "main"))
    truth = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "executable": sys.executable,
        "threading_file": threading.__file__,
        "main_interpreter_id": interpreter_id,
        "sub_interpreter_id": sub_truth["interpreter_id"],
        "threads": thread_records(interpreter_id, stacks) + sub_truth["threads"],
    }
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(100000)  # PARK: main


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    load_park_tags()
    install_pong_handler(pong_path)
    end_after_lifetime()
    threading.current_thread().name = "main-renamed"
    threading.Thread(target=recurse, args=(2, park_main_worker), name="main-worker", daemon=True).start()
    threading.Thread(target=run_subinterpreter, args=(truth_path + ".sub.json",), name="sub-runner", daemon=True).start()
    try:
        recurse(MAIN_DEPTH, lambda: write_truth_and_park(truth_path, ready_fifo))
    except BaseException:
        # Exit at once: finalizing with a subinterpreter still running would hang or abort.
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    main()
