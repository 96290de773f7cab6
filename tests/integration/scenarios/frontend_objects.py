"""Scenario for the debugger front-ends' `object` commands: a few suspended objects, their ids
written as truth.

Run by the interpreter under test (keep Python 3.8 syntax):
    python frontend_objects.py TRUTH_JSON READY_FIFO PONG_FILE

Holds, and writes the id() of (TRUTH_JSON: {"objects": {name: id}, ...}):
- "generator": a `yield from` chain of three generators, suspended in the innermost;
- "coroutine": a coroutine awaiting a coroutine awaiting an asyncio Future (driven by hand
  with send(None), on a loop that never runs);
- "not_started": a coroutine not started yet;
- "future": the Future the coroutine awaits;
- "not_a_generator": a dict (the error case);
- "elaborated": upstream's README example (call_example), suspended inside two @contextmanager
  managers and an ExitStack: its contexts hold inner stacks and children (issue 15).
Then writes "ready" to READY_FIFO and sleeps; SIGUSR1 appends "pong" to PONG_FILE.
The front-end tests compare each debugger's `object` output with the CLI's `--object`;
the objects' own truth (frames, lines) is test_objects.py's business.
"""
import asyncio
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import end_after_lifetime, install_pong_handler, signal_ready, write_json  # noqa: E402


def innermost():
    yield "parked"


def middle():
    yield from innermost()


def outer():
    yield from middle()


@contextlib.contextmanager
def null_context():
    yield


def some_cb(*a, **kw):
    pass


@contextlib.contextmanager
def inner_context():
    stack = contextlib.ExitStack()
    with stack:
        stack.enter_context(null_context())
        stack.callback(some_cb, 10, "hi", answer=42)
        yield "inner"


@contextlib.contextmanager
def outer_context():
    with inner_context() as inner:  # noqa: F841
        yield "outer"


def example():
    with outer_context():
        yield


def call_example():
    yield from example()


async def wait_for(future):
    return await future


async def waiting(future):
    return await wait_for(future)


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    generator = outer()
    next(generator)
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    coroutine = waiting(future)
    coroutine.send(None)  # suspended: awaits wait_for, which awaits the Future
    not_started = waiting(loop.create_future())
    not_a_generator = {"a": 1}
    elaborated = call_example()
    next(elaborated)
    held = [generator, coroutine, not_started, future, not_a_generator, elaborated]
    write_json(truth_path, {
        "pid": os.getpid(),
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "objects": {
            "generator": id(generator),
            "coroutine": id(coroutine),
            "not_started": id(not_started),
            "future": id(future),
            "not_a_generator": id(not_a_generator),
            "elaborated": id(elaborated),
        },
    })
    signal_ready(ready_fifo)
    while held:
        time.sleep(100000)


if __name__ == "__main__":
    main()
