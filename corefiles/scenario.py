"""The core-fixture scenario: one program per interpreter, dumped by corefiles/make.

    python scenario.py EXPECTED_JSON READY_FIFO

It starts every part in PARTS, waits until each part says it is parked, then writes
EXPECTED_JSON (what a correct reading of the core must show, taken from inside with
sys._current_frames()) and "ready" to READY_FIFO, and sleeps until killed.

Add to it by adding a part: a class with start() and expected(snapshot) -> {section: value}.
Sections are merged into the expected JSON, so a later part (coroutines, tasks, context
managers) adds its own section without touching the others. Keep Python 3.8 syntax.
"""
import json
import os
import sys
import threading
import time

PARK_TIMEOUT_SECONDS = 30.0
LIFETIME_SECONDS = 1800  # a scenario whose maker died is ended by SIGALRM
HIDDEN_THREADING_FUNCTIONS = {"_bootstrap", "_bootstrap_inner", "run"}
PARK_LINES = {}  # line number -> tag of a `# PARK: tag` comment in this file


def load_park_lines():
    with open(__file__) as source:
        for number, text in enumerate(source, start=1):
            code, _, comment = text.partition("#")
            if code.strip() and comment.strip().startswith("PARK:"):
                PARK_LINES[number] = comment.split(":", 1)[1].strip()


def park_line(tag):
    return next(line for line, name in PARK_LINES.items() if name == tag)


def function_name(frame):
    """co_qualname, or before 3.11 upstream stackscope's guess from a first argument named
    self (its type) or cls (itself), then co_name."""
    code = frame.f_code
    if hasattr(code, "co_qualname"):
        return code.co_qualname
    owner = None
    if code.co_argcount and code.co_varnames[0] in ("self", "cls"):
        value = frame.f_locals.get(code.co_varnames[0])
        owner = type(value) if code.co_varnames[0] == "self" else value
        owner = getattr(owner, "__qualname__", None) if isinstance(owner, type) else None
    return "%s.%s" % (owner, code.co_name) if owner else code.co_name


def describe_frame(frame):
    code = frame.f_code
    module = frame.f_globals.get("__name__")
    return {
        "function": function_name(frame),
        "name": code.co_name,
        "module": module,
        "filename": code.co_filename,
        "line": frame.f_lineno,
        "hidden": module == "threading" and code.co_name in HIDDEN_THREADING_FUNCTIONS,
    }


def outermost_first(frame):
    frames = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


# --- part: threads parked at known lines, in several kinds of blocking call --------------

def descend(depth, park):
    if depth == 0:
        park()
    else:
        descend(depth - 1, park)


def park_on_event():
    threading.Event().wait()  # PARK: event


def park_in_sleep():
    time.sleep(100000)  # PARK: sleep


def park_in_read():
    read_end, _write_end = os.pipe()
    os.read(read_end, 1)  # PARK: read


def yielding_then_parking():
    yield 1
    threading.Event().wait()  # PARK: generator


def park_in_generator():
    for _ in yielding_then_parking():
        pass


class Vault:
    def __init__(self):
        self.lock = threading.Lock()
        self.lock.acquire()

    def park_on_lock(self):
        self.lock.acquire()  # PARK: lock


class ParkedThreads:
    WORKERS = [
        # (thread name, recursion depth, park function)
        ("event-waiter", 3, park_on_event),
        ("sleeper", 2, park_in_sleep),
        ("pipe-reader", 1, park_in_read),
        ("generator-waiter", 0, park_in_generator),
        ("lock-waiter", 4, Vault().park_on_lock),
    ]

    def start(self):
        threading.current_thread().name = "main-renamed"
        for name, depth, park in self.WORKERS:
            threading.Thread(target=descend, args=(depth, park), name=name, daemon=True).start()

    def parked(self, stacks):
        workers = [frames for ident, frames in stacks.items() if ident != threading.get_ident()]
        return len(workers) == len(self.WORKERS) and all(
            any(f["filename"] == __file__ and f["line"] in PARK_LINES for f in frames) for frames in workers)

    def expected(self, stacks):
        by_ident = {t.ident: t for t in threading.enumerate()}
        return {"threads": [
            {"tid": by_ident[ident].native_id, "name": by_ident[ident].name, "frames": frames}
            for ident, frames in sorted(stacks.items(), key=lambda item: by_ident[item[0]].native_id)
        ]}


PARTS = [ParkedThreads()]


def current_stacks():
    return {ident: [describe_frame(f) for f in outermost_first(frame)]
            for ident, frame in sys._current_frames().items()}


def wait_until_parked():
    """The stacks once every part is parked and two looks in a row agree."""
    deadline = time.monotonic() + PARK_TIMEOUT_SECONDS
    previous = None
    while time.monotonic() < deadline:
        stacks = current_stacks()
        stacks.pop(threading.get_ident())
        if all(part.parked(stacks) for part in PARTS) and stacks == previous:
            return stacks
        previous = stacks
        time.sleep(0.05)
    raise SystemExit("scenario: the parts did not park within %.0fs" % PARK_TIMEOUT_SECONDS)


def main_thread_stack_once_parked():
    caller = sys._getframe(1)
    frames = outermost_first(caller)
    described = [describe_frame(f) for f in frames]
    described[-1]["line"] = park_line("main")
    return described


def write_expected_and_park(expected_path, ready_fifo):
    stacks = wait_until_parked()
    stacks[threading.get_ident()] = main_thread_stack_once_parked()
    expected = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "executable": sys.executable,
    }
    for part in PARTS:
        expected.update(part.expected(stacks))
    with open(expected_path, "w") as out:
        json.dump(expected, out, indent=1, sort_keys=True)
        out.write("\n")
    with open(ready_fifo, "w") as fifo:
        fifo.write("ready\n")
    time.sleep(100000)  # PARK: main


def main():
    import signal

    expected_path, ready_fifo = sys.argv[1:3]
    signal.alarm(LIFETIME_SECONDS)
    load_park_lines()
    for part in PARTS:
        part.start()
    descend(2, lambda: write_expected_and_park(expected_path, ready_fifo))


if __name__ == "__main__":
    main()
