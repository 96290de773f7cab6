"""Scenario: one object of each kind the tool's bounded repr rebuilds (issue 15), plus huge,
deep, cyclic, non-ASCII (each str kind) and unprintable ones, with their truth computed
in-process by the interpreter under test.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python repr_objects.py TRUTH_JSON READY_FIFO PONG_PATH

The truth: per object its name, id() and reprlib.Repr(maxlevel=3, maxstring=80, maxlong=80,
maxlist=6, maxtuple=6, maxdict=4, maxset=6, maxfrozenset=6, maxother=80).repr(obj), except for
an int over sys.get_int_max_str_digits(), which CPython's repr() refuses and the tool shows as
`<int with N digits>` (N counted here with the limit lifted for the count). Per callable,
upstream stackscope's format_funcname (its _glue.py, restated below). No object has a
class-level __repr__ written in Python (the tool does not run them). Objects that are mutable
are not touched after the truth is written.
"""
import asyncio
import collections
import json
import os
import reprlib
import sys
import threading
import time
import types
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.dont_write_bytecode = True
from scenario_support import end_after_lifetime, install_pong_handler, signal_ready, write_json  # noqa: E402

BOUNDS = dict(maxlevel=3, maxstring=80, maxlong=80, maxlist=6, maxtuple=6, maxdict=4, maxset=6, maxfrozenset=6,
              maxother=80)
KEEP = []


def make_repr():
    if sys.version_info >= (3, 12):
        return reprlib.Repr(**BOUNDS)
    r = reprlib.Repr()  # keyword arguments from 3.12
    for name, value in BOUNDS.items():
        setattr(r, name, value)
    return r


class Plain:
    def method(self):
        pass

    class Inner:
        pass


class Slotted:
    __slots__ = ("a",)


class MyError(Exception):
    pass


# Python subclasses of builtins without a __repr__: repr() is the builtin's.
class ConfigDict(dict):
    pass


class NameList(list):
    pass


class Label(str):
    pass


class Count(int):
    pass


def outer():
    def inner():
        pass

    return inner


async def sleeper():
    await asyncio.sleep(1000)


def deep_list(depth):
    value = [0]
    for _ in range(depth):
        value = [value]
    return value


def objects():
    """[(name, object)]."""
    cyclic_list = [1]
    cyclic_list.append(cyclic_list)
    cyclic_dict = {"k": 1}
    cyclic_dict["self"] = cyclic_dict
    a, b = [], []
    a.append(b)
    b.append(a)
    lock, held_lock = threading.Lock(), threading.Lock()
    held_lock.acquire()
    rlock, held_rlock = threading.RLock(), threading.RLock()
    held_rlock.acquire()
    held_rlock.acquire()
    fake_module = types.ModuleType("fake_module")
    big = 10 ** 4300  # 4301 digits: over the default limit
    out = [
        ("none", None), ("true", True), ("false", False),
        ("zero", 0), ("one", 1), ("minus_one", -1), ("int_62", 2 ** 62), ("int_64", 2 ** 64 + 5),
        ("int_neg_100", -(2 ** 100)), ("int_80_digits", 10 ** 79), ("int_81_digits", 10 ** 80),
        ("int_neg_long", -(7 ** 200)), ("int_at_limit", 10 ** 4299), ("int_over_limit", big),
        ("int_far_over_limit", -(10 ** 40000)),
        ("float_zero", 0.0), ("float_neg_zero", -0.0), ("float_one", 1.0), ("float_tenth", 0.1),
        ("float_1e16", 1e16), ("float_1e15", 1e15), ("float_1e-5", 1e-5), ("float_1e-4", 1e-4),
        ("float_17_digits", 0.30000000000000004), ("float_two_thirds", 2 / 3), ("float_big", 1.7976931348623157e308),
        ("float_tiny", 5e-324), ("float_nan", float("nan")), ("float_inf", float("inf")), ("float_neg_inf", -float("inf")),
        ("float_mixed", 123456.789e3), ("float_neg_exp", -1.5e-300), ("float_large_int", 2.0 ** 60),
        ("str_empty", ""), ("str_ascii", "abc"), ("str_single_quote", "it's"), ("str_double_quote", 'say "hi"'),
        ("str_both_quotes", "both ' and \""), ("str_escapes", "tab\tnl\nret\rback\\slash"),
        ("str_controls", "\x00\x01\x1b\x7f"), ("str_latin1", "caf\xe9 \xfc\xdf"), ("str_latin1_unprintable", "\xa0\xad\x85"),
        ("str_ucs2", "\u03a9mega \u4e2d\u6587"), ("str_ucs2_unprintable", "\u2028\ufeff\u200b\ufffe"),
        ("str_ucs4", "\U0001F600 smile"), ("str_ucs4_unprintable", "\U000E0001\U0010FFFF"),
        ("str_surrogate", "a\ud800b"),
        # Assigned in later Unicode versions: printable in some interpreters only.
        ("str_new_code_points", "\U0001FAE8\U0001FAE9\U0001FACE\u0897\U0001F6DC\u31e4\U0001FA89\u1c89\U0001CC00"),
        ("str_long", "x" * 1000), ("str_long_latin1", "\xe9" * 200), ("str_long_escapes", "\n" * 100),
        ("str_short_long_repr", "\x00" * 30), ("str_mid_repr", "\x00" * 21), ("str_long_mixed", "\u03a9" * 100 + "\U0001F600" * 100),
        ("str_long_quotes", "'" * 50 + "x" * 50), ("str_81", "y" * 81), ("str_80", "z" * 80),
        ("bytes_empty", b""), ("bytes_ascii", b"abc"), ("bytes_quote", b"it's"), ("bytes_all", bytes(range(256))),
        ("bytes_escapes", b"\t\n\r\\\x7f\x80"),
        ("tuple_empty", ()), ("tuple_one", (1,)), ("tuple_two", (1, "a")), ("tuple_long", tuple(range(10))),
        ("tuple_nested", (1, (2, (3, (4, (5,)))))), ("tuple_of_one_tuple", ((1,),)),
        ("list_empty", []), ("list_mixed", [1, "a", None, 1.5, True, b"b"]), ("list_long", list(range(100))),
        ("list_huge", list(range(100000))), ("list_deep", deep_list(100)), ("list_cyclic", cyclic_list),
        ("list_mutual", a), ("list_six", list(range(6))), ("list_seven", list(range(7))),
        ("dict_empty", {}), ("dict_sorted", {"b": 1, "a": 2, "c": [1, 2]}), ("dict_long", {i: i * i for i in range(10, 0, -1)}),
        ("dict_mixed_keys", {1: "a", "b": 2, None: 3}), ("dict_cyclic", cyclic_dict), ("dict_over_sort_bound", {i: -i for i in range(5000)}), ("dict_nested", {"a": {"b": {"c": {"d": 1}}}}),
        ("set_empty", set()), ("set_small", {3, 1, 2}), ("set_long", set(range(20, 0, -1))), ("set_str", {"b", "a", "c"}),
        ("set_mixed", {1, "a"}), ("set_over_sort_bound", set(range(5000, 0, -1))), ("set_numbers", {1.5, 2, -3, True}), ("set_unorderable", {None, 1}),
        ("frozenset_empty", frozenset()), ("frozenset_one", frozenset({1})), ("frozenset_long", frozenset(range(10))),
        ("frozenset_nested", frozenset({frozenset({1})})),
        ("function", outer), ("function_nested", outer()), ("function_lambda", lambda: None), ("function_method", Plain.method),
        ("builtin_print", print), ("builtin_len", len), ("builtin_method_list", [].append), ("builtin_method_str", "x".join),
        ("builtin_classmethod", dict.fromkeys), ("builtin_module_function", unicodedata.name),
        ("bound_method", Plain().method), ("bound_method_of_list", types.MethodType(outer, [1, 2])),
        ("bound_method_long_self", types.MethodType(outer, "s" * 200)),
        ("class_int", int), ("class_plain", Plain), ("class_inner", Plain.Inner), ("class_ordereddict", collections.OrderedDict),
        ("class_thread", threading.Thread), ("class_valueerror", ValueError), ("class_lock", type(lock)),
        ("class_myerror", MyError),
        ("module_sys", sys), ("module_os", os), ("module_json", json), ("module_unicodedata", unicodedata),
        ("module_threading", threading), ("module_fake", fake_module), ("module_main", sys.modules["__main__"]),
        ("module_collections", collections),
        ("exc_value", ValueError("x")), ("exc_key_two", KeyError(1, 2)), ("exc_empty", ValueError()),
        ("exc_mine", MyError("a" * 100)), ("exc_list_arg", RuntimeError([1, 2, {"a": (3,)}])),
        ("exc_cyclic_arg", RuntimeError(cyclic_list, cyclic_dict)), ("bound_method_of_cycle", types.MethodType(outer, a)),
        ("exc_os", OSError(2, "No such file")), ("exc_huge_int_arg", ValueError(big)), ("exc_str_arg", TypeError("it's \"q\"")),
        ("lock", lock), ("lock_held", held_lock), ("rlock", rlock), ("rlock_held", held_rlock),
        ("object", object()), ("plain_instance", Plain()), ("slotted", Slotted()),
        ("subclass_dict", ConfigDict(b=1, a=[2, 3])), ("subclass_list", NameList([3, 1, 2])),
        ("subclass_str", Label("it's \u03a9")), ("subclass_int", Count(-42)),
        ("list_of_subclass_dict", [ConfigDict(x=1), NameList()]),
    ]
    # asyncio's Future and Task reprs (the C classes), on a loop that never runs.
    loop = asyncio.new_event_loop()
    pending, done, cancelled, failed = (loop.create_future() for _ in range(4))
    done.set_result([1, "x" * 100])
    cancelled.cancel()
    failed.set_exception(ValueError("bad"))
    KEEP.append(loop)
    # A Future done-callback that is another Future's set_result: a METH_METHOD method, whose
    # type is builtin_method from 3.12 (builtin_function_or_method before).
    chained, feeds = loop.create_future(), loop.create_future()
    chained.add_done_callback(feeds.set_result)
    out += [("future_pending", pending), ("future_done", done), ("future_cancelled", cancelled),
            ("future_failed", failed), ("task_not_started", loop.create_task(sleeper())),
            ("future_chained", chained), ("builtin_method_of_future", feeds.set_result)]
    # Futures whose results hold themselves or each other: asyncio shows the inner one as `...`
    # (its result to 3.10, its whole repr from 3.11); and a chain of Futures, each the result
    # of the one before, longer than the tool follows (its end is cut from the text anyway).
    holds_itself, holds_b, holds_a = (loop.create_future() for _ in range(3))
    holds_itself.set_result([holds_itself])
    holds_a.set_result([holds_b])
    holds_b.set_result((holds_a,))
    chain = [loop.create_future() for _ in range(70)]
    for future, result in zip(chain, chain[1:]):
        future.set_result([result])
    chain[-1].set_result(None)
    out += [("future_result_holds_itself", holds_itself), ("futures_results_hold_each_other", holds_a),
            ("future_chain_of_70", chain[0])]
    # One whose exception holds it, and two tasks each awaiting the other (their loop ran until
    # both waited): from 3.11 the inner repr is `...`; before, repr() raises RecursionError.
    raises_itself = loop.create_future()
    raises_itself.set_exception(ValueError(raises_itself))
    other_loop = asyncio.new_event_loop()
    KEEP.append(other_loop)
    box = {}
    box["a"], box["b"] = (other_loop.create_task(awaits_other(box, key)) for key in ("b", "a"))
    other_loop.run_until_complete(asyncio.sleep(0.01))
    # A chain of 40 tasks, each awaiting the next: wait_for= nests them all.
    chain_tasks = [other_loop.create_task(awaits_other(box, "end"))]
    for n in range(39):
        box[n] = chain_tasks[-1]
        chain_tasks.append(other_loop.create_task(awaits_other(box, n)))
    box["end"] = other_loop.create_future()
    other_loop.run_until_complete(asyncio.sleep(0.01))
    out += [("future_exception_holds_itself", raises_itself), ("tasks_awaiting_each_other", box["a"]),
            ("task_chain_of_40", chain_tasks[-1])]
    # Futures whose results share their parts: [f, f], each f holding [g, g], 40 levels deep.
    # repr() would show 2**40 Futures; the tool gives up (TOO_COSTLY_FOR_CPYTHON).
    shared = loop.create_future()
    shared.set_result(None)
    for _ in range(40):
        holder = loop.create_future()
        holder.set_result([shared, shared])
        shared = holder
    out.append(("futures_sharing_results", shared))
    if sys.version_info >= (3, 11):
        excs = [ValueError(1), TypeError("t")]
        group = ExceptionGroup("several", excs)  # noqa: F821 (3.11+)
        excs.append(KeyError(3))  # 3.14+ repr the group's exceptions as they were given
        out.append(("exc_group", group))
    return out


async def awaits_other(box, key):
    await asyncio.sleep(0)
    await box[key]


def format_funcname(func):
    """Upstream stackscope's format_funcname (stackscope/_glue.py)."""
    try:
        if isinstance(func, types.MethodType):
            return "%r.%s" % (func.__self__, func.__name__)
        return "%s.%s" % (func.__module__, func.__qualname__)
    except AttributeError:
        return repr(func)


FUNCTION_NAME_CASES = ("function", "function_nested", "function_lambda", "function_method", "builtin_print",
                       "builtin_len", "builtin_method_list", "builtin_method_str", "builtin_classmethod",
                       "builtin_module_function", "bound_method", "class_int", "class_plain", "class_inner",
                       "class_ordereddict", "class_thread", "class_lock", "plain_instance", "object", "lock")


def digit_count(value):
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return len(str(abs(value)))
    finally:
        sys.set_int_max_str_digits(limit)


# What the tool shows where the target's own repr() would not finish in any reasonable time:
# after 100,000 objects it shows the object as reprlib shows one whose repr() raised.
TOO_COSTLY_FOR_CPYTHON = {"futures_sharing_results"}


def expected_repr(r, name, value):
    if name in TOO_COSTLY_FOR_CPYTHON:
        return "<%s instance at %#x>" % (type(value).__name__, id(value))
    if type(value) is int:
        try:
            repr(value)
        except ValueError:
            return "<int with %d digits>" % digit_count(value)
    return r.repr(value)


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    r = make_repr()
    cases = objects()
    KEEP.append(cases)
    by_name = dict(cases)
    truth = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "int_max_str_digits": sys.get_int_max_str_digits(),
        "objects": [{"name": name, "id": id(value), "repr": expected_repr(r, name, value)} for name, value in cases],
        "function_names": [{"name": name, "id": id(by_name[name]), "text": format_funcname(by_name[name])}
                           for name in FUNCTION_NAME_CASES],
    }
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(100000)


if __name__ == "__main__":
    main()
