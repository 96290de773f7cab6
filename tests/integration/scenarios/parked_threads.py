"""Scenario: threads parked at known lines, truth written from inside.

Run by the interpreter under test (keep Python 3.8 syntax):
    python parked_threads.py TRUTH_JSON READY_FIFO PONG_FILE

Every thread blocks at a line tagged `# PARK: <tag>`.  Once all threads are
parked and stable, the main thread records sys._current_frames() as truth,
substituting its own park line for its own innermost frame, writes TRUTH_JSON
and then writes "ready" to READY_FIFO.  SIGUSR1 appends "pong" to PONG_FILE
(a liveness probe that does not change any thread's stack).
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import (end_after_lifetime, install_pong_handler, park_tags, signal_ready,  # noqa: E402
                              stack_of, tool_function_name, write_json)

MAIN_DEPTH = 50
PARK_TAGS = {}  # line number -> tag, filled from this file's source


def recurse(depth, park):
    if depth == 0:
        park()
    else:
        recurse(depth - 1, park)


def park_on_event():
    threading.Event().wait()  # PARK: event


def park_on_condition():
    condition = threading.Condition()
    with condition:
        condition.wait()  # PARK: condition


def park_in_sleep():
    time.sleep(100000)  # PARK: sleep


def park_in_read():
    read_end, write_end = os.pipe()
    os.read(read_end, 1)  # PARK: read


def waiting_generator():
    yield 1
    threading.Event().wait()  # PARK: generator


def park_in_generator():
    for _ in waiting_generator():
        pass


class LockHolder:
    def __init__(self):
        self.lock = threading.Lock()
        self.lock.acquire()

    def park_on_lock(self):
        self.lock.acquire()  # PARK: lock


def make_closure_park():
    def closure_park():
        park_on_condition()

    return closure_park


WORKERS = [
    # (thread name, recursion depth, park function)
    ("event-waiter", 3, park_on_event),
    ("condition-waiter", 7, make_closure_park()),
    ("sleeper", 2, park_in_sleep),
    ("pipe-reader", 5, park_in_read),
    ("generator-waiter", 1, park_in_generator),
    ("lock-waiter", 0, LockHolder().park_on_lock),
]


def describe_frame(frame):
    code = frame.f_code
    return {
        "name": code.co_name,
        "qualname": getattr(code, "co_qualname", None),
        "function": tool_function_name(frame),
        "filename": code.co_filename,
        "line": frame.f_lineno,
        "module": frame.f_globals.get("__name__"),
    }


def snapshot_workers():
    """Return {ident: [frame dicts]} for all threads but the calling one."""
    me = threading.get_ident()
    return {
        ident: [describe_frame(f) for f in stack_of(frame)]
        for ident, frame in sys._current_frames().items()
        if ident != me
    }


def all_parked(snapshot):
    for frames in snapshot.values():
        lines = [f["line"] for f in frames if f["filename"] == __file__]
        if not any(line in PARK_TAGS for line in lines):
            return False
    return True


def wait_for_stable_park(expected_threads, timeout=30.0):
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        current = snapshot_workers()
        if len(current) == expected_threads and all_parked(current) and current == previous:
            return current
        previous = current
        time.sleep(0.05)
    raise SystemExit("scenario: threads did not park within %.0fs" % timeout)


def own_truth_stack(park_line):
    """The main thread's stack as it will be once parked at park_line."""
    frames = stack_of(sys._getframe())
    writer_index = max(i for i, f in enumerate(frames) if f.f_code is write_truth_and_park.__code__)
    described = [describe_frame(f) for f in frames[: writer_index + 1]]
    described[-1]["line"] = park_line
    return described


def thread_record(thread, frames):
    return {
        "ident": thread.ident,
        "native_id": thread.native_id,
        "name": thread.name,
        "park": innermost_park_tag(frames),
        "frames": frames,
    }


def innermost_park_tag(frames):
    tags = [PARK_TAGS.get(f["line"]) for f in frames if f["filename"] == __file__]
    tags = [tag for tag in tags if tag]
    return tags[-1] if tags else None


def write_truth_and_park(truth_path, ready_fifo):
    stacks = wait_for_stable_park(len(WORKERS))
    main_line = next(line for line, tag in PARK_TAGS.items() if tag == "main")
    stacks[threading.get_ident()] = own_truth_stack(main_line)
    threads = {t.ident: t for t in threading.enumerate()}
    truth = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "executable": sys.executable,
        "threading_file": threading.__file__,
        "threads": [thread_record(threads[ident], frames) for ident, frames in stacks.items()],
    }
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(100000)  # PARK: main


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    PARK_TAGS.update(park_tags(__file__))
    install_pong_handler(pong_path)
    end_after_lifetime()
    threading.current_thread().name = "main-renamed"  # names come from the target's threading registry
    for name, depth, park in WORKERS:
        threading.Thread(target=recurse, args=(depth, park), name=name, daemon=True).start()
    recurse(MAIN_DEPTH, lambda: write_truth_and_park(truth_path, ready_fifo))


if __name__ == "__main__":
    main()
