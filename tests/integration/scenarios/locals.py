"""Scenario: frames' variables (--locals, issue 15), with their truth recorded in-process.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python locals.py TRUTH_JSON READY_FIFO PONG_PATH

Cases:
- thread "locals-args": a thread parked (in a C lock acquire) in a closure called from a list
  comprehension of `thread_case`, which has positional-only, positional, *args, keyword-only
  and **kwargs parameters, a captured argument (a cell holding an argument), a captured local
  (cell), a deleted local and one assigned only later (both unbound); the comprehension's
  variable shadows a local of the same name (3.12+: inlined into thread_case's frame; before:
  its own <listcomp> frame); the closure has free variables.
- thread "locals-class": a thread parked inside a class body (not CO_OPTIMIZED: no locals).
- object generator `gen_case` (suspended at a yield), a not-started generator with a captured
  argument, and a coroutine `coro_case` suspended in an await.

The truth, per frame of each case (outermost first): function, line and `locals`, each
[name, kind, expected repr, placeholder_ok]:
- which names: frame.f_locals (Python's own view of the bound ones), ordered as co_varnames,
  then co_cellvars not among them, then co_freevars; a code object without CO_OPTIMIZED (a
  module or class body) has none (the tool's documented choice);
- kind: "arg" for inspect.getargs(code)'s arguments (positional, keyword-only, *args, **kwargs),
  else "cell" for co_cellvars, "free" for co_freevars, else "local";
- expected repr: reprlib.Repr with the tool's bounds (maxlevel=3, maxstring=80, maxlong=80,
  maxlist=6, maxtuple=6, maxdict=4, maxset=6, maxfrozenset=6, maxother=80), except that an
  object whose class has a __repr__ written in Python shows object.__repr__ (the tool runs no
  target code: the documented deviation);
- placeholder_ok: the expected repr is object.__repr__'s, which the tool's placeholder repr
  (until the bounded repr lands) already gives.
"""
import inspect
import os
import reprlib
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.dont_write_bytecode = True
from scenario_support import (await_chain, end_after_lifetime, install_pong_handler, signal_ready,  # noqa: E402
                              stack_of, tool_function_name, write_json)

CO_OPTIMIZED = 0x1
PARK = threading.Lock()  # held by main: the threads park acquiring it (C, no Python frame)
PARK.acquire()
KEEP = []


class Plain:
    """An object whose repr is object.__repr__'s everywhere."""


class WithPythonRepr:
    def __repr__(self):  # the tool does not run it
        return "WithPythonRepr()"


def thread_case(pos, /, std, *rest, kwonly, opt=None, **extra):
    plain = Plain()
    number = 12345
    text = "hello ünïcode " + "x" * 100
    items = [1, [2, [3, [4, [5]]]], "s", Plain(), 5, 6, 7, 8]
    mapping = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    pair = (Plain(), WithPythonRepr())
    captured = Plain()
    gone = 1
    del gone
    depth = "outer"

    def closure(depth):
        mine = Plain()
        PARK.acquire()  # PARK: closure
        return captured, pos

    result = [closure(depth) for depth in range(1)]  # PARK: comprehension
    later = result  # unbound while parked
    return later


def class_case():
    class Body:
        attribute = Plain()
        PARK.acquire()  # PARK: class body

    return Body


def gen_case(alpha, *, beta):
    counter = 3
    obj = Plain()
    yield counter  # PARK: gen
    unbound = obj
    yield unbound


def gen_not_started(value, *more):
    def get():
        return value

    yield get


class Suspend:
    def __await__(self):
        yield self


async def coro_case(x, **kw):
    data = {"k": [1, 2, 3]}
    big = 10 ** 100
    await Suspend()  # PARK: coro
    return data


# --- truth ------------------------------------------------------------------------------------


def bounded_repr():
    r = reprlib.Repr()
    for name, value in (("maxlevel", 3), ("maxstring", 80), ("maxlong", 80), ("maxlist", 6), ("maxtuple", 6),
                        ("maxdict", 4), ("maxset", 6), ("maxfrozenset", 6), ("maxother", 80)):
        setattr(r, name, value)

    def repr_instance(x, level):
        if isinstance(getattr(type(x), "__repr__", None), types.FunctionType):
            x = ObjectRepr(x)
        return reprlib.Repr.repr_instance(r, x, level)

    r.repr_instance = repr_instance
    return r


class ObjectRepr:
    """Stands for an object whose __repr__ is written in Python: its object.__repr__."""

    def __init__(self, obj):
        self.text = object.__repr__(obj)

    def __repr__(self):
        return self.text


BOUNDED = bounded_repr()


def expected_locals(frame):
    code = frame.f_code
    if not code.co_flags & CO_OPTIMIZED:
        return []
    values = dict(frame.f_locals)
    args, varargs, varkw = inspect.getargs(code)
    arguments = set(args) | {varargs, varkw}
    order = list(code.co_varnames) + [n for n in code.co_cellvars if n not in code.co_varnames] + list(code.co_freevars)
    out = []
    for name in order:
        if name not in values:
            continue
        if name in arguments:
            kind = "arg"
        elif name in code.co_cellvars:
            kind = "cell"
        elif name in code.co_freevars:
            kind = "free"
        else:
            kind = "local"
        value = values[name]
        text = BOUNDED.repr(value)
        out.append([name, kind, text, text == object.__repr__(value)])
    return out


def describe_frame(frame):
    return {"function": tool_function_name(frame), "name": frame.f_code.co_name, "line": frame.f_lineno,
            "filename": frame.f_code.co_filename, "locals": expected_locals(frame)}


def wait_for_parked(threads, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = sys._current_frames()
        tags = [current.get(t.ident) for t in threads]
        if all(f is not None and f.f_code.co_name in ("closure", "Body") for f in tags):
            time.sleep(0.2)
            return
        time.sleep(0.05)
    raise SystemExit("scenario: threads did not park within %.0fs" % timeout)


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    threads = [
        ("thread_case", threading.Thread(target=thread_case, args=(1, "two", 3.5, Plain()),
                                         kwargs={"kwonly": [4], "extra_one": "e1"}, name="locals-args", daemon=True)),
        ("class_case", threading.Thread(target=class_case, name="locals-class", daemon=True)),
    ]
    for _, thread in threads:
        thread.start()
    wait_for_parked([t for _, t in threads])
    gen = gen_case(Plain(), beta="b")
    next(gen)
    not_started = gen_not_started(Plain(), 1, 2)
    coro = coro_case(7, flag=True)
    coro.send(None)
    objects = [("gen_case", gen), ("gen_not_started", not_started), ("coro_case", coro)]
    KEEP.extend([threads, objects])
    current = sys._current_frames()
    cases = []
    for name, thread in threads:
        cases.append({"case": name, "kind": "thread", "thread_tid": thread.native_id,
                      "frames": [describe_frame(f) for f in stack_of(current[thread.ident])]})
    for name, obj in objects:
        cases.append({"case": name, "kind": "object", "address": id(obj),
                      "frames": [describe_frame(f) for f in await_chain(obj)]})
    truth = {"python_version": "%d.%d.%d" % sys.version_info[:3], "pid": os.getpid(), "cases": cases}
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(100000)


if __name__ == "__main__":
    main()
