"""Scenario: threads parked inside `except` blocks, for the `handling` of each thread.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python handled_exceptions.py TRUTH_JSON READY_FIFO PONG_PATH

Threads: "nested-class" handles Outer.Inner("boom") (a class nested in a class: its
__qualname__ differs from its __name__), "builtin-key" handles the KeyError('missing') a dict
lookup raised, "builtin-value" handles ValueError("boom"); each parks on an Event inside its
`except` block.  The main thread parks on an Event and handles nothing.

TRUTH_JSON gets {thread name: {"tid": native thread id, "handling": {"type", "message"} or
null}}, each exception described in the thread that caught it (type(e).__qualname__, and its
one argument when that is a str or int, else null), before READY_FIFO gets "ready".
PONG_PATH is not used.
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready, write_json  # noqa: E402


class Outer:
    class Inner(Exception):
        pass


def described(error):
    args = error.args
    message = args[0] if len(args) == 1 and isinstance(args[0], (str, int)) and not isinstance(args[0], bool) else None
    return {"type": type(error).__qualname__, "message": message}


def handle(raise_it, seen, parked):
    try:
        raise_it()
    except Exception as error:
        seen[threading.current_thread().name] = described(error)
        parked.set()
        threading.Event().wait()


def raise_nested():
    raise Outer.Inner("boom")


def raise_key():
    {}["missing"]


def raise_value():
    raise ValueError("boom")


THREADS = {"nested-class": raise_nested, "builtin-key": raise_key, "builtin-value": raise_value}


def main(truth_path, ready_fifo):
    seen = {}
    for name, raise_it in THREADS.items():
        parked = threading.Event()
        threading.Thread(target=handle, args=(raise_it, seen, parked), name=name, daemon=True).start()
        parked.wait()
    truth = {t.name: {"tid": t.native_id, "handling": seen.get(t.name)} for t in threading.enumerate()}
    write_json(truth_path, truth)
    signal_ready(ready_fifo)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
