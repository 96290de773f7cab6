"""Scenario: managers whose contents are unbounded or cyclic (issue 15's bounds), each held in
a suspended generator read with --object.

Run by the interpreter under test (keep Python 3.8 syntax):
    python context_bounds.py TRUTH_JSON READY_FIFO PONG_PATH

Writes {"objects": {case: id(generator)}, "managers": {case: id(top manager)}, "deep": N,
"callbacks": N, "nesting": N}:
- self_holding: an ExitStack that entered itself (`stack.enter_context(stack)`): a cycle;
- deep_exit_stacks: DEEP ExitStacks, each entered by the one before;
- many_callbacks: an ExitStack with CALLBACKS callbacks;
- deep_generators: a @contextmanager that enters itself NESTING times (each level's
  generator holds the next level's manager).
"""
import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import end_after_lifetime, install_pong_handler, signal_ready, write_json  # noqa: E402

DEEP = 40
CALLBACKS = 5000
NESTING = 30
MANAGERS = {}


def noop(*args):
    pass


def self_holding():
    with contextlib.ExitStack() as stack:
        MANAGERS["self_holding"] = stack
        stack.enter_context(stack)
        yield


def deep_exit_stacks():
    with contextlib.ExitStack() as stack:
        MANAGERS["deep_exit_stacks"] = stack
        current = stack
        for _ in range(DEEP):
            current = current.enter_context(contextlib.ExitStack())
        yield


def many_callbacks():
    with contextlib.ExitStack() as stack:
        MANAGERS["many_callbacks"] = stack
        for _ in range(CALLBACKS):
            stack.callback(noop)
        yield


@contextlib.contextmanager
def nest(level):
    if level:
        with nest(level - 1):
            yield
    else:
        yield


def deep_generators():
    with nest(NESTING) as manager:  # noqa: F841
        yield


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    objects = {}
    held = []
    for case in (self_holding, deep_exit_stacks, many_callbacks, deep_generators):
        generator = case()
        next(generator)
        objects[case.__name__] = id(generator)
        held.append(generator)
    write_json(truth_path, {
        "pid": os.getpid(),
        "objects": objects,
        "managers": {case: id(manager) for case, manager in MANAGERS.items()},
        "deep": DEEP, "callbacks": CALLBACKS, "nesting": NESTING,
    })
    signal_ready(ready_fifo)
    while held:
        time.sleep(100000)


if __name__ == "__main__":
    main()
