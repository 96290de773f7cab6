"""Scenario: suspended generators, coroutines, async generators and their awaitables, kept
referenced, with their truth recorded in-process; for `stackscope ... --object ADDR`.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python suspended_objects.py TRUTH_JSON READY_FIFO PONG_PATH

It builds the objects of build_cases() (each a named case), waits until the threads that run a
generator and a coroutine are parked with stable stacks, records for every case the object's
id() and what `--object` must print (issue 13: its `objects` JSON entry), writes TRUTH_JSON
atomically, writes "ready" to READY_FIFO and parks the main thread in time.sleep. SIGUSR1
appends "pong" to PONG_PATH.

The truth is obtained the way Python itself sees the objects: the chain of frames follows
gi_yieldfrom / cr_await / ag_await, gc.get_referents() for the objects that hide what they
wrap (async_generator_asend / athrow, coroutine_wrapper, asyncio's FutureIter), and
sys._current_frames() for frames executing on a thread. Lines tagged `# AT: <tag>` name where
each frame is expected to be, for the tests' check of the scenario itself.

With STACKSCOPE_UPSTREAM_ORACLE=1 in the environment, on 3.8-3.12, the vendored upstream
stackscope (tests/third_party/stackscope) is imported and `str(stackscope.extract(obj))` is
recorded per case, the text oracle; where it cannot be imported, the truth says why.
"""
import asyncio
import asyncio.futures
import asyncio.tasks
import dis
import functools
import gc
import inspect
import os
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.dont_write_bytecode = True  # nor any __pycache__ of the interpreters under test in the source tree
from scenario_support import (bounded_repr, end_after_lifetime, install_pong_handler, signal_ready,  # noqa: E402
                              stack_of, tagged_lines, tool_function_name, write_json)

THIRD_PARTY = os.path.join(os.path.dirname(os.path.dirname(HERE)), "third_party")
UPSTREAM_VERSIONS = ((3, 8), (3, 12))  # upstream's own tests pass on these
UNREADABLE_ADDRESS = 8  # not a readable object in any process
DEEP_AWAIT = 50  # coroutines awaiting each other in deep_await_chain


def keep(function):
    """A decorator that changes nothing: for the line of a decorated function's first frame."""
    return function


# --- generators ---------------------------------------------------------------------------


def gen_inner():
    yield "inner"  # AT: gen_inner


def gen_middle():
    yield from gen_inner()  # AT: gen_middle


def gen_outer():
    yield from gen_middle()  # AT: gen_outer


# --- coroutines and a custom awaitable ----------------------------------------------------


class Awaitable:
    def __await__(self):
        yield "custom"  # AT: Awaitable.__await__


async def coro_b():
    await Awaitable()  # AT: coro_b


async def coro_a():
    await coro_b()  # AT: coro_a


async def awaits_future(future):
    await future  # AT: awaits_future


async def awaits_task(task):
    await task  # AT: awaits_task


async def awaits_gather(gathering):
    await gathering  # AT: awaits_gather


async def task_inner(future):
    await future  # AT: task_inner


async def task_body(future):
    await task_inner(future)  # AT: task_body


async def returns_at_once():
    return ["a", "result", "list"]


def done_callback(future, *args, **kwargs):
    pass


class CallbackList(list):
    """Its instances' append is list.append's method bound to another type: "CallbackList.append"."""


# --- async generators through asend / athrow ----------------------------------------------


async def agen_body(future):
    await future  # AT: agen_body
    yield "never"


async def drives_asend(asend):
    await asend  # AT: drives_asend


async def agen_catches(future):
    try:
        yield "first"
    except ValueError:
        await future  # AT: agen_catches


# --- coroutine_wrapper, types.coroutine, a leaf that is no future -------------------------


async def wrapped_coro():
    await Awaitable()  # AT: wrapped_coro


def drives_wrapper(wrapper):
    yield from wrapper  # AT: drives_wrapper


@types.coroutine
def legacy_coroutine():
    yield "legacy"  # AT: legacy_coroutine


async def awaits_legacy():
    await legacy_coroutine()  # AT: awaits_legacy


class WeirdObject:
    def __await__(self):
        return iter([42])  # upstream's "unknown awaitable" test: the list_iterator is the leaf


async def awaits_weird():
    await WeirdObject()  # AT: awaits_weird


class YieldsFromIterator:
    def __await__(self):
        yield from iter([42])  # AT: YieldsFromIterator.__await__


async def awaits_yields_from_iterator():
    await YieldsFromIterator()  # AT: awaits_yields_from_iterator


# --- not started, exhausted, running ------------------------------------------------------


def not_started_gen():  # AT: not_started_gen
    yield 1


@keep  # AT: not_started_gen_decorated
def not_started_gen_decorated():
    yield 1


async def not_started_coro():  # AT: not_started_coro
    pass


@keep  # AT: not_started_coro_decorated
@keep
async def not_started_coro_decorated():
    pass


def exhausted_gen():
    yield 1


async def exhausted_coro():
    return 1


async def not_started_agen():  # AT: not_started_agen
    yield 1


async def exhausted_agen():
    yield 1


async def deep_await(depth):
    if depth:
        await deep_await(depth - 1)  # AT: deep_await
    else:
        await Awaitable()  # AT: deep_await_bottom


def running_gen():
    threading.Event().wait()  # AT: running_gen
    yield "never"


def run_generator(generator):
    next(generator)  # AT: run_generator


def local_thread():
    """A Thread subclass defined in a function: type(t).__name__ is not its __qualname__."""

    class Worker(threading.Thread):
        def run(self):
            threading.Event().wait()  # AT: local_thread_run

    return Worker(name="local-worker", daemon=True)


class Outer:
    class NestedFuture(asyncio.Future):
        """type(f).__name__ "NestedFuture", __qualname__ "Outer.NestedFuture"."""

    def on_done(self, future):
        pass


async def running_coro_inner():
    threading.Event().wait()  # AT: running_coro_inner


async def running_coro_outer(inner):
    await inner  # AT: running_coro_outer


def run_coroutine(coroutine):
    coroutine.send(None)  # AT: run_coroutine


# --- the cases ----------------------------------------------------------------------------


def run_loop_once(loop):
    """One iteration of the (otherwise idle) loop: the steps already scheduled run."""
    loop.call_soon(loop.stop)
    loop.run_forever()


def started(coroutine_or_generator):
    """Drive a coroutine (send(None)) or generator (next) to its first suspension."""
    if inspect.isgenerator(coroutine_or_generator):
        next(coroutine_or_generator)
    else:
        coroutine_or_generator.send(None)
    return coroutine_or_generator


def build_cases():
    """[(case name, object, upstream oracle object or None)], objects referenced by the list."""
    loop = asyncio.new_event_loop()
    cases = []

    def case(name, obj, oracle="same"):
        cases.append((name, obj, obj if oracle == "same" else oracle))
        return obj

    case("yield_from_chain", started(gen_outer()))
    case("coro_custom_await", started(coro_a()))
    case("coro_awaits_future", started(awaits_future(loop.create_future())))

    task_future = loop.create_future()
    task = loop.create_task(task_body(task_future), name="objects-task")
    run_loop_once(loop)  # the task's coroutine runs to its `await future`
    case("coro_awaits_task", started(awaits_task(task)))
    # From 3.12 an automatically named C task keeps the number until get_name(): the truth must
    # not call get_name (nor repr) on it, see task_name().
    auto_task = loop.create_task(task_body(loop.create_future()))
    run_loop_once(loop)
    case("coro_awaits_auto_named_task", started(awaits_task(auto_task)))
    gathering = asyncio.gather(loop.create_future(), loop.create_future())
    case("coro_awaits_gather", started(awaits_gather(gathering)))

    agen = agen_body(loop.create_future())
    asend = agen.asend(None)
    case("asend_driver", started(drives_asend(asend)))
    case("asend", asend)
    case("async_generator", agen)

    catching = agen_catches(loop.create_future())
    try:
        catching.asend(None).send(None)
    except StopIteration:  # the asend finished: the generator yielded "first"
        pass
    athrow = catching.athrow(ValueError)
    started(athrow)
    case("athrow", athrow)

    wrapped = wrapped_coro()
    wrapper = wrapped.__await__()
    case("wrapper_driver", started(drives_wrapper(wrapper)))
    case("coroutine_wrapper", wrapper)

    legacy_driver = case("coro_awaits_types_coroutine", started(awaits_legacy()))
    case("types_coroutine_generator", legacy_driver.cr_await)
    case("unknown_awaitable_leaf", started(awaits_weird()))
    case("generator_leaf_list_iterator", started(awaits_yields_from_iterator()))

    case("not_started_gen", not_started_gen())
    case("not_started_gen_decorated", not_started_gen_decorated())
    case("not_started_coro", not_started_coro())
    case("not_started_coro_decorated", not_started_coro_decorated())
    exhausted = exhausted_gen()
    for _ in exhausted:
        pass
    case("exhausted_gen", exhausted)
    finished_coro = exhausted_coro()
    try:
        finished_coro.send(None)
    except StopIteration:
        pass
    case("exhausted_coro", finished_coro)
    case("not_started_agen", not_started_agen())
    finished_agen = exhausted_agen()
    for _ in range(2):
        try:
            finished_agen.asend(None).send(None)
        except (StopIteration, StopAsyncIteration):  # yielded 1, then finished
            pass
    case("exhausted_agen", finished_agen)
    case("deep_await_chain", started(deep_await(DEEP_AWAIT)))

    generator = running_gen()
    thread = threading.Thread(target=run_generator, args=(generator,), name="generator-runner", daemon=True)
    thread.start()
    case("running_gen", generator)
    case("thread", thread)
    inner = running_coro_inner()
    coroutine = running_coro_outer(inner)
    threading.Thread(target=run_coroutine, args=(coroutine,), name="coroutine-runner", daemon=True).start()
    case("running_coro", coroutine)
    case("running_coro_inner", inner)
    case("main_thread", threading.main_thread(), oracle=None)  # upstream would read its own frames here
    worker = local_thread()
    worker.start()
    case("thread_subclass", worker)

    case("task", task, oracle=task.get_coro())  # upstream shows a Task as a leaf: its coroutine's stack is ours
    case("future_pending", loop.create_future())
    finished = loop.create_future()
    finished.set_result("done")
    case("future_finished", finished)
    cancelled = loop.create_future()
    cancelled.cancel()
    case("future_cancelled", cancelled)
    case("future_subclass", Outer.NestedFuture(loop=loop))
    # The pure-Python classes: `_state` (class attribute until the state changes), `_coro`, `_name`.
    py_future = asyncio.futures._PyFuture(loop=loop)
    case("py_future", py_future)
    py_task = asyncio.tasks._PyTask(task_body(loop.create_future()), loop=loop, name="py-task")
    run_loop_once(loop)
    case("py_task", py_task, oracle=py_task.get_coro())
    case("coro_awaits_py_future", started(awaits_future(py_future)))  # through the generator Future.__await__

    # Each part of a Future's and a Task's repr: exception, result, callbacks (one, two, more:
    # functions, a partial with arguments, a lambda, a bound method), a finished task, a
    # cancelling one (3.11+: `cancelling`; before, the cancelled waiter leaves it `pending`).
    failed = loop.create_future()
    failed.set_exception(ValueError("boom"))
    case("future_exception", failed)
    one_callback = loop.create_future()
    one_callback.add_done_callback(done_callback)
    case("future_one_callback", one_callback)
    two_callbacks = loop.create_future()
    two_callbacks.add_done_callback(functools.partial(done_callback, 1, "two", key=3.5))
    two_callbacks.add_done_callback(lambda future: None)
    case("future_two_callbacks", two_callbacks)
    many_callbacks = py_future_with_callbacks = asyncio.futures._PyFuture(loop=loop)
    for callback in (done_callback, functools.partial(done_callback), Outer().on_done, lambda future: None):
        py_future_with_callbacks.add_done_callback(callback)
    case("py_future_callbacks", many_callbacks)
    # Builtin methods as callbacks, named by what they are bound to: one method bound to
    # instances of two types, a module's function, a class's method.
    instance_callbacks = loop.create_future()
    for callback in ([].append, CallbackList().append):
        instance_callbacks.add_done_callback(callback)
    case("future_builtin_method_callbacks", instance_callbacks)
    module_class_callbacks = loop.create_future()
    for callback in (print, dict.fromkeys):
        module_class_callbacks.add_done_callback(callback)
    case("future_builtin_function_callbacks", module_class_callbacks)
    finished_task = loop.create_task(returns_at_once(), name="finished-task")
    run_loop_once(loop)
    case("task_finished", finished_task, oracle=finished_task.get_coro())
    cancelling_task = loop.create_task(task_body(loop.create_future()), name="cancelling-task")
    run_loop_once(loop)
    cancelling_task.cancel()  # the loop runs no more: the cancellation stays pending
    case("task_cancelling", cancelling_task, oracle=cancelling_task.get_coro())

    case("not_a_generator", {"not": "a generator"}, oracle=None)
    case("unreadable_address", None, oracle=None)  # id() is replaced by UNREADABLE_ADDRESS
    return loop, cases


# --- truth --------------------------------------------------------------------------------

WRAPPER_TYPE_NAMES = ("async_generator_asend", "async_generator_athrow", "coroutine_wrapper")
GENERATOR_LIKE_NAMES = ("generator", "coroutine", "async_generator") + WRAPPER_TYPE_NAMES
STATES = {"CREATED": "created", "SUSPENDED": "suspended", "RUNNING": "running", "CLOSED": "finished"}


def describe_frame(frame):
    code = frame.f_code
    return {
        "name": code.co_name,
        "qualname": getattr(code, "co_qualname", None),
        "function": tool_function_name(frame),
        "filename": code.co_filename,
        "line": frame.f_lineno,
        "module": frame.f_globals.get("__name__"),
        "hidden": code.co_filename == threading.__file__ and code.co_name in ("_bootstrap", "_bootstrap_inner", "run"),
        "tag": TAGS.get(frame.f_lineno) if code.co_filename == __file__ else None,
    }


def thread_stacks():
    """{native thread id: [frames, outermost first]} of every thread but this one."""
    natives = {t.ident: t.native_id for t in threading.enumerate()}
    return {natives.get(ident): stack_of(frame)
            for ident, frame in sys._current_frames().items() if ident != threading.get_ident()}


def running_on(frame):
    """(native id of the thread executing `frame`, that thread's frames from `frame` inward), or None."""
    for native_id, frames in thread_stacks().items():
        for index, candidate in enumerate(frames):
            if candidate is frame:
                return native_id, frames[index:]
    return None


def wrapped(obj):
    """What an async_generator_asend / athrow or coroutine_wrapper drives (it hides it)."""
    for referent in gc.get_referents(obj):
        if hasattr(referent, "ag_frame") or hasattr(referent, "cr_frame"):
            return referent
    raise SystemExit("scenario: %r wraps nothing with a frame" % (obj,))


def frame_and_awaited(obj):
    """(frame, awaited object) of a generator, coroutine or async generator, else None."""
    if isinstance(obj, types.GeneratorType):
        return obj.gi_frame, obj.gi_yieldfrom
    if isinstance(obj, types.CoroutineType):
        return obj.cr_frame, obj.cr_await
    if isinstance(obj, types.AsyncGeneratorType):
        return obj.ag_frame, obj.ag_await
    return None


def state_of(obj):
    """The contract's state of a generator, coroutine or async generator (of an asend / athrow /
    coroutine_wrapper: the one it wraps); None for other objects."""
    if type(obj).__name__ in WRAPPER_TYPE_NAMES:
        return state_of(wrapped(obj))
    if isinstance(obj, types.GeneratorType):
        return STATES[inspect.getgeneratorstate(obj).split("_", 1)[1]]
    if isinstance(obj, types.CoroutineType):
        return STATES[inspect.getcoroutinestate(obj).split("_", 1)[1]]
    if isinstance(obj, types.AsyncGeneratorType):
        # Not inspect.getasyncgenstate (3.12+): ag_running is also true while the generator
        # awaits inside asend/athrow, where its frame is suspended.
        if obj.ag_frame is None:
            return "finished"
        if running_on(obj.ag_frame):
            return "running"
        if hasattr(obj, "ag_suspended"):  # 3.12+
            return "suspended" if obj.ag_suspended else "created"
        if sys.version_info >= (3, 11):  # its last instruction is still the RETURN_GENERATOR that made it
            return "created" if obj.ag_code.co_code[obj.ag_frame.f_lasti] == dis.opmap["RETURN_GENERATOR"] else "suspended"
        return "created" if obj.ag_frame.f_lasti < 0 else "suspended"
    return None


def task_name(task):
    """The name of a Task without get_name(), which from 3.12 turns a lazily kept number into
    the string "Task-N" in the object (C tasks only: a _PyTask keeps a str in `_name`, and its
    referents are its attributes' values, ints among them)."""
    if isinstance(task, asyncio.tasks._PyTask):
        return task._name
    for referent in gc.get_referents(task):
        if type(referent) is int:
            return "Task-%d" % referent
    return task.get_name()


def is_task(obj):
    """A Task, C or pure-Python (asyncio.tasks._PyTask is no subclass of the C Task)."""
    return isinstance(obj, (asyncio.Task, asyncio.tasks._PyTask))


def description_of(obj):
    """The contract's description (the text header's subject) of an object asked for."""
    if type(obj).__name__ in WRAPPER_TYPE_NAMES:
        return object.__repr__(obj)
    if type(obj).__name__ in GENERATOR_LIKE_NAMES or isinstance(obj, threading.Thread):
        return repr(obj)
    if asyncio.isfuture(obj):
        return leaf_of(obj)["repr"]
    return object.__repr__(obj)


def leaf_of(obj):
    """The contract's {type, repr} of what ends an await chain."""
    if type(obj).__name__ == "FutureIter":  # shown as the future it iterates
        obj = next(r for r in gc.get_referents(obj) if asyncio.isfuture(r))
    text = bounded_repr(obj) if not is_task(obj) else bounded_repr(TextRepr(task_repr(obj)))
    return {"type": type(obj).__name__, "repr": text}


class TextRepr:
    """An object whose repr is a given text: lets reprlib bound a repr computed another way."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def task_repr(task):
    """repr(task) as CPython's Task.__repr__ builds it (asyncio.base_tasks._task_repr_info), but
    with task_name() in place of get_name(), which from 3.12 turns an automatic name kept as a
    number into a str in the object, the very state the tool must read. Checked against
    repr(task) where that changes nothing (a task whose name is already a str)."""
    info = asyncio.base_futures._future_repr_info(task)
    cancelling = task.cancelling() if hasattr(task, "cancelling") else task._must_cancel
    if cancelling and not task.done():
        info[0] = "cancelling"
    info.insert(1, "name=%r" % task_name(task))
    info.insert(2, "coro=<%s>" % asyncio.coroutines._format_coroutine(task._coro))
    if task._fut_waiter is not None:
        info.insert(3, "wait_for=%r" % task._fut_waiter)
    text = "<%s %s>" % (type(task).__name__, " ".join(info))
    if not any(type(r) is int for r in gc.get_referents(task)) or isinstance(task, asyncio.tasks._PyTask):
        assert text == repr(task), (text, repr(task))
    return text


def await_chain(obj):
    """(frames, leaf) following the awaited objects from obj."""
    frames = []
    seen = set()
    while id(obj) not in seen:
        seen.add(id(obj))
        if type(obj).__name__ in WRAPPER_TYPE_NAMES:
            obj = wrapped(obj)
            continue
        pair = frame_and_awaited(obj)
        if pair is None:
            return frames, leaf_of(obj)
        frame, awaited = pair
        if frame is None:  # finished
            return frames, None
        running = running_on(frame)
        if running:
            return frames + list(running[1]), None
        frames.append(frame)
        if awaited is None:
            return frames, None
        obj = awaited
    raise SystemExit("scenario: await chain cycle at %r" % (obj,))


def record(name, obj):
    """The truth of one case."""
    entry = {"case": name, "address": id(obj), "type": type(obj).__name__, "state": state_of(obj),
             "frames": [], "leaf": None, "thread_tid": None, "error": False,
             # repr() only of these: repr(task) would turn a lazily kept task name into a string
             "repr": repr(obj) if type(obj).__name__ in GENERATOR_LIKE_NAMES else None}
    entry["description"] = description_of(obj)
    if name == "unreadable_address":
        entry.update(address=UNREADABLE_ADDRESS, type=None, error=True, description=None)
        return entry
    if obj is threading.current_thread():
        entry.update(frames=own_stack_when_parked(), thread_tid=obj.native_id)
        return entry
    if isinstance(obj, threading.Thread):
        frames = thread_stacks()[obj.native_id]
        entry.update(frames=[describe_frame(f) for f in frames], thread_tid=obj.native_id)
        return entry
    if is_task(obj):
        frames, leaf = await_chain(obj.get_coro())
    elif asyncio.isfuture(obj):  # C or pure-Python (asyncio.futures._PyFuture)
        frames, leaf = [], leaf_of(obj)
    elif type(obj).__name__ in WRAPPER_TYPE_NAMES or frame_and_awaited(obj) is not None:
        frames, leaf = await_chain(obj)
        pair = frame_and_awaited(obj)
        running = pair and pair[0] is not None and running_on(pair[0])
        if running:
            entry["thread_tid"] = running[0]
    else:
        entry["error"] = True
        return entry
    entry.update(frames=[describe_frame(f) for f in frames], leaf=leaf)
    return entry


def own_stack_when_parked():
    """This thread's frames as they will be once main() parks (at the line tagged `main`)."""
    frames = stack_of(sys._getframe())
    main_index = max(i for i, f in enumerate(frames) if f.f_code is main.__code__)
    described = [describe_frame(f) for f in frames[: main_index + 1]]
    described[-1]["line"] = next(line for line, tag in TAGS.items() if tag == "main")
    described[-1]["tag"] = "main"
    return described


def wait_for_stable_threads(timeout=30.0):
    """Until every other thread parks in a frame of this file and its stack stops changing."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        current = {tid: [describe_frame(f) for f in frames] for tid, frames in thread_stacks().items()}
        parked = all(any(f["tag"] for f in frames) for frames in current.values())
        if current and parked and current == previous:
            return
        previous = current
        time.sleep(0.05)
    raise SystemExit("scenario: threads did not park within %.0fs" % timeout)


# --- upstream stackscope, the text oracle -------------------------------------------------


def upstream_texts(cases):
    """{"skipped": why or None, "texts": {case: str(stackscope.extract(oracle object))}}."""
    if os.environ.get("STACKSCOPE_UPSTREAM_ORACLE") != "1":
        return {"skipped": "not asked (STACKSCOPE_UPSTREAM_ORACLE is not 1)", "texts": {}}
    if not UPSTREAM_VERSIONS[0] <= sys.version_info[:2] <= UPSTREAM_VERSIONS[1]:
        return {"skipped": "upstream stackscope supports 3.8-3.12, this is %d.%d" % sys.version_info[:2], "texts": {}}
    sys.path[:0] = [os.path.join(THIRD_PARTY, "stackscope"), os.path.join(THIRD_PARTY, "stubs")]
    try:
        import stackscope
    except Exception as error:  # say why, loudly: the oracle tests skip with this
        why = "upstream stackscope failed to import: %s: %s" % (type(error).__name__, error)
        sys.stderr.write("!!! %s\n" % why)
        return {"skipped": why, "texts": {}}
    texts = {}
    for name, _, oracle in cases:
        if oracle is not None:
            try:
                texts[name] = str(stackscope.extract(oracle))
            except Exception as error:
                texts[name] = "!!! upstream raised %s: %s" % (type(error).__name__, error)
    return {"skipped": None, "texts": texts}


TAGS = {}  # line number -> tag, from this file's `# AT:` comments
KEEP = []  # everything the truth describes stays referenced (and suspended) until the end


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    TAGS.update(tagged_lines(__file__, "AT"))
    install_pong_handler(pong_path)
    end_after_lifetime()
    loop, cases = build_cases()
    KEEP.extend([loop, cases])
    wait_for_stable_threads()
    truth = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "executable": sys.executable,
        "threading_file": threading.__file__,
        "objects": [record(name, obj) for name, obj, _ in cases],
    }
    truth["upstream"] = upstream_texts(cases)
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(100000)  # AT: main


if __name__ == "__main__":
    main()
