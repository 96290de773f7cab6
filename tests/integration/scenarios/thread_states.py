"""Scenario: threads in known states, for the per-thread activity.

Run by the interpreter under test (keep Python 3.8 syntax):
    python thread_states.py MODE TRUTH_JSON READY_FIFO

MODE threads: "sleeper" in time.sleep, "spinner-1" and "spinner-2" spinning in pure Python
(so at any instant one of them holds the GIL and the other waits for it), "handler" parked in
an `except ValueError` block, "nested-handler" parked in a generator inside an `except KeyError`
block, the main thread parked on an Event.
MODE gc: the main thread runs gc.collect(), whose finalizer (__del__ of an object in a
reference cycle) parks on an Event; "sleeper" sleeps meanwhile.
MODE finalizing: the main thread returns; while the interpreter finalizes, a __del__ of a
module global parks in time.sleep.
TRUTH_JSON gets {thread name: native thread id} before READY_FIFO gets "ready".
"""
import gc
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready, write_json  # noqa: E402


def write_truth(path, extra=()):
    truth = {t.name: t.native_id for t in threading.enumerate()}
    truth.update(extra)
    write_json(path, truth)


def sleep_forever():
    while True:
        time.sleep(100000)


def spin():
    counter = 0
    while True:
        counter += 1


def handle(parked):
    try:
        raise ValueError("boom")
    except ValueError:
        parked.set()
        threading.Event().wait()


def wait_in_generator(parked):
    parked.set()
    yield threading.Event().wait()


def handle_around_generator(parked):
    try:
        {}["missing"]
    except KeyError:
        for _ in wait_in_generator(parked):
            pass


def start(name, target, *args):
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def run_threads(truth, fifo):
    handler_parked, nested_parked = threading.Event(), threading.Event()
    start("sleeper", sleep_forever)
    start("handler", handle, handler_parked)
    start("nested-handler", handle_around_generator, nested_parked)
    handler_parked.wait()
    nested_parked.wait()
    start("spinner-1", spin)
    start("spinner-2", spin)
    write_truth(truth)
    signal_ready(fifo)
    threading.Event().wait()


class Cycle:
    def __init__(self, truth, fifo):
        self.me = self
        self.truth, self.fifo = truth, fifo

    def __del__(self):
        write_truth(self.truth)
        signal_ready(self.fifo)
        threading.Event().wait()


def run_gc(truth, fifo):
    start("sleeper", sleep_forever)
    gc.disable()
    Cycle(truth, fifo)
    gc.collect()


class FinalParker:
    """Parks in __del__, which runs while the interpreter clears modules at exit. Everything
    it needs is bound now: module globals may already be None then."""

    def __init__(self, fd, _write=os.write, _sleep=time.sleep):
        self.fd, self.write, self.sleep = fd, _write, _sleep

    def __del__(self):
        self.write(self.fd, b"ready\n")
        while 1:
            self.sleep(100000)


def run_finalizing(truth, fifo):
    global parker
    write_truth(truth)
    parker = FinalParker(os.open(fifo, os.O_WRONLY))


if __name__ == "__main__":
    mode, truth_path, ready_fifo = sys.argv[1:4]
    {"threads": run_threads, "gc": run_gc, "finalizing": run_finalizing}[mode](truth_path, ready_fifo)
