"""Scenario: threads parked at known lines, then one thread dies of a signal.

Run by the interpreter under test (keep Python 3.8 syntax), with core dumps enabled:
    python crash_threads.py TRUTH_JSON HOW WHERE
HOW is `segv` (a NULL read through ctypes) or `abort` (os.abort()); WHERE is `main` or
`thread` (a worker named "crasher").  Once every other thread is parked, the crashing thread
writes the truth (sys._current_frames(), its own innermost frame at its crash line) and
crashes at the line tagged `# CRASH: <how>`.
"""
import ctypes
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import park_tags, tagged_lines  # noqa: E402

CRASH_LINES = {}  # how -> line number, from this file's source
PARK_LINES = {}


def load_tags():
    CRASH_LINES.update((how, number) for number, how in tagged_lines(__file__, "CRASH").items())
    PARK_LINES.update(park_tags(__file__))


def recurse(depth, then):
    if depth == 0:
        then()
    else:
        recurse(depth - 1, then)


def park_on_event():
    threading.Event().wait()  # PARK: event


def park_in_sleep():
    time.sleep(100000)  # PARK: sleep


def describe_frame(frame):
    code = frame.f_code
    return {
        "name": code.co_name,
        "function": getattr(code, "co_qualname", None),
        "filename": code.co_filename,
        "line": frame.f_lineno,
    }


def stack_of(frame):
    frames = []
    while frame is not None:
        frames.append(describe_frame(frame))
        frame = frame.f_back
    frames.reverse()
    return frames


def others_parked(me, expected):
    stacks = {ident: stack_of(f) for ident, f in sys._current_frames().items() if ident != me}
    parked = [s for s in stacks.values() if any(f["filename"] == __file__ and f["line"] in PARK_LINES for f in s)]
    return stacks if len(stacks) == expected and len(parked) == expected else None


def write_truth_and_crash(truth_path, how, expected_others):
    me = threading.get_ident()
    deadline = time.monotonic() + 30
    previous = None
    while True:
        stacks = others_parked(me, expected_others)
        if stacks is not None and stacks == previous:
            break
        if time.monotonic() > deadline:
            raise SystemExit("scenario: threads did not park")
        previous = stacks
        time.sleep(0.05)
    own = stack_of(sys._getframe())
    own[-1]["line"] = CRASH_LINES[how]
    stacks[me] = own
    threads = {t.ident: t for t in threading.enumerate()}
    truth = {
        "pid": os.getpid(),
        "parent_pid": os.getppid(),
        "uid": os.getuid(),
        "crasher": {"ident": me, "native_id": threading.get_native_id(), "name": threading.current_thread().name},
        "threads": [{"ident": i, "name": threads[i].name, "native_id": threads[i].native_id, "frames": f} for i, f in stacks.items()],
    }
    with open(truth_path, "w") as out:
        json.dump(truth, out, indent=1)
    if how == "segv":
        ctypes.string_at(0)  # CRASH: segv
    else:
        os.abort()  # CRASH: abort


def main():
    truth_path, how, where = sys.argv[1:4]
    load_tags()
    workers = [("event-waiter", 3, park_on_event), ("sleeper", 1, park_in_sleep)]
    for name, depth, park in workers:
        threading.Thread(target=recurse, args=(depth, park), name=name, daemon=True).start()
    others = len(workers) + (1 if where == "thread" else 0)
    crash = lambda: write_truth_and_crash(truth_path, how, others)  # noqa: E731
    if where == "main":
        recurse(4, crash)
    else:
        crasher = threading.Thread(target=recurse, args=(2, crash), name="crasher", daemon=True)
        crasher.start()
        crasher.join()  # PARK: join


if __name__ == "__main__":
    main()
