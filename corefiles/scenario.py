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
        workers = [stacks.get(t.ident) for t in threading.enumerate() if t.name in [w[0] for w in self.WORKERS]]
        return len(workers) == len(self.WORKERS) and all(
            frames and any(f["filename"] == __file__ and f["line"] in PARK_LINES for f in frames) for frames in workers)

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
        "debug_build": hasattr(sys, "gettotalrefcount"),  # Py_DEBUG
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


# --- part: suspended generators, coroutines and async generators, read by address --------
# (`--object ADDR`). They are made and kept on the main thread before anything parks, so no
# thread's stack changes; the truth about each is taken in-process by following gi_yieldfrom /
# cr_await / ag_await (through async_generator_asend to its async generator, through
# asyncio's FutureIter to its Future) down to the leaf. The part sits below main() so that
# no line of the parts above moves, the main thread's parked line included.

LEAF_ITEMS = ["first", "second"]
GENERATOR_KINDS = {"generator": "gi", "coroutine": "cr", "async_generator": "ag"}


def innermost_generator():
    yield from iter(LEAF_ITEMS)


def middle_generator():
    yield from innermost_generator()


def outer_generator():
    yield from middle_generator()


def never_started_generator():
    yield "never"


def exhausted_generator():
    yield "once"


class CustomAwaitable:
    def __await__(self):
        yield "custom"


async def awaiting_custom():
    await CustomAwaitable()


async def awaiting_coroutine():
    await awaiting_custom()


async def awaiting_future(future):
    await future


async def async_generator_awaiting(future):
    await future
    yield "after the future"


async def awaiting_asend(agen):
    await agen.asend(None)


def decorated(function):
    return function


@decorated
async def never_started_coroutine():
    await awaiting_custom()


def running_generator():
    """The generator the generator-waiter thread is running (parked inside it)."""
    import gc
    running = [o for o in gc.get_objects()
               if type(o).__name__ == "generator" and o.gi_code is yielding_then_parking.__code__]
    return next(g for g in running if g.gi_running)


def frame_is_executing(frame):
    for newest in sys._current_frames().values():
        while newest is not None:
            if newest is frame:
                return True
            newest = newest.f_back
    return False


def generator_state(obj):
    prefix = GENERATOR_KINDS[type(obj).__name__]
    frame = getattr(obj, prefix + "_frame")
    if frame is None:
        return "finished"
    # ag_running is true while an asend is under way, even when the frame itself is suspended.
    if frame_is_executing(frame):
        return "running"
    suspended = getattr(obj, prefix + "_suspended", None)  # 3.11+ (async generators: 3.12+)
    if suspended is not None:
        return "suspended" if suspended else "created"
    if sys.version_info < (3, 11):
        return "created" if frame.f_lasti == -1 else "suspended"
    import dis
    return "created" if frame.f_code.co_code[frame.f_lasti] == dis.opmap["RETURN_GENERATOR"] else "suspended"


def describe_leaf(obj):
    import asyncio
    if isinstance(obj, asyncio.Future):
        name = type(obj).__name__
        return {"type": name, "repr": "<%s %s>" % (name, obj._state.lower())}
    return {"type": type(obj).__name__, "repr": object.__repr__(obj)}


def wrapped_by(obj):
    """What an async_generator_asend/athrow, a coroutine_wrapper or a FutureIter stands for."""
    import asyncio
    name = type(obj).__name__
    if name in ("async_generator_asend", "async_generator_athrow"):
        wanted = lambda r: type(r).__name__ == "async_generator"
    elif name == "coroutine_wrapper":
        wanted = lambda r: type(r).__name__ == "coroutine"
    elif name == "FutureIter":
        wanted = lambda r: isinstance(r, asyncio.Future)
    else:
        return None
    import gc
    return next(r for r in gc.get_referents(obj) if wanted(r))


def await_chain(obj):
    """(frames outermost first, leaf) of a suspended or not-started object."""
    frames, current = [], obj
    while current is not None:
        name = type(current).__name__
        if name in GENERATOR_KINDS:
            prefix = GENERATOR_KINDS[name]
            frame = getattr(current, prefix + "_frame")
            if frame is None:
                return frames, None
            frames.append(describe_frame(frame))
            current = getattr(current, prefix + ("_yieldfrom" if prefix == "gi" else "_await"))
            continue
        inner = wrapped_by(current)
        if inner is not None and name != "FutureIter":
            current = inner
            continue
        return frames, describe_leaf(inner if inner is not None else current)
    return frames, None


class SuspendedObjects:
    def start(self):
        # asyncio imports ssl when it can: OpenSSL's libraries and state would double the
        # core, and nothing here needs them.
        sys.modules.setdefault("ssl", None)
        import asyncio
        self.loop = asyncio.new_event_loop()  # only makes futures; never runs
        exhausted = exhausted_generator()
        list(exhausted)
        chain = outer_generator()
        next(chain)
        custom = awaiting_coroutine()
        custom.send(None)
        on_future = awaiting_future(self.loop.create_future())
        on_future.send(None)
        agen = async_generator_awaiting(self.loop.create_future())  # a future of its own
        via_asend = awaiting_asend(agen)
        via_asend.send(None)
        self.objects = [
            ("yield-from-chain", chain),
            ("coroutine-to-custom-await", custom),
            ("coroutine-awaiting-future", on_future),
            ("coroutine-awaiting-asend", via_asend),
            ("async-generator-in-asend", agen),
            ("not-started-decorated-coroutine", never_started_coroutine()),
            ("not-started-generator", never_started_generator()),
            ("exhausted-generator", exhausted),
            ("not-a-generator", {"a": "dict"}),
        ]

    def parked(self, stacks):
        return True

    def expected(self, stacks):
        objects = [self.truth(label, obj) for label, obj in self.objects]
        objects.append(self.running_truth(stacks))
        return {"objects": objects}

    @staticmethod
    def truth(label, obj):
        out = {"label": label, "address": id(obj), "type": type(obj).__name__, "state": None,
               "frames": [], "leaf": None, "thread_tid": None, "error_expected": False}
        if type(obj).__name__ in GENERATOR_KINDS:
            out["state"] = generator_state(obj)
            out["frames"], out["leaf"] = await_chain(obj)
        else:
            out["error_expected"] = True
        return out

    @staticmethod
    def running_truth(stacks):
        """A running generator's frames are its thread's, from its own frame to the newest."""
        generator = running_generator()
        by_ident = {t.ident: t for t in threading.enumerate()}
        for ident, frames in stacks.items():
            names = [f["name"] for f in frames]
            if "yielding_then_parking" in names:
                return {"label": "running-generator", "address": id(generator), "type": "generator",
                        "state": generator_state(generator),
                        "frames": frames[names.index("yielding_then_parking"):], "leaf": None,
                        "thread_tid": by_ident[ident].native_id, "error_expected": False}
        raise SystemExit("scenario: no thread runs yielding_then_parking")


PARTS.append(SuspendedObjects())


# --- part: asyncio tasks on a loop a thread of the scenario runs, for `--tasks` ------------
# The thread "asyncio-loop" runs a loop whose first task starts the others, lets each reach its
# last await, and then parks inside itself, so that it is the loop's running task. Who awaits
# whom: a task awaiting a task, a gather of two tasks, a shield of a task, a task cancelled that
# goes on waiting (cancelling from 3.11), a pure-Python Task, and from 3.11 TaskGroups (a parent
# still in its body, a nested group whose parent waits in its __aexit__). The truth, taken
# in-process: every pending task's id(), name, state, loop, whether it runs, its awaiters (as
# the part made them, checked against what the task records from 3.14), and its chain following
# cr_await, outermost first (a running task's: its coroutines' frames on its thread, as asyncio's
# tools show it). It sits below the other parts so that none of their lines moves.

TASKS_THREAD = "asyncio-loop"
TASK_AWAITERS = {}  # task -> the tasks the part made wait for it


def awaited_by(task, awaiter):
    TASK_AWAITERS.setdefault(task, set()).add(awaiter)
    return task


def awaited_by_current(task):
    import asyncio
    return awaited_by(task, asyncio.current_task())


async def task_sleeping():
    import asyncio
    await asyncio.sleep(3600)


async def task_awaiting(other):
    await other


async def task_gathering():
    import asyncio
    children = [awaited_by_current(asyncio.ensure_future(task_sleeping())) for _ in range(2)]
    await asyncio.gather(*children)


async def task_shielding(inner):
    import asyncio
    await asyncio.shield(awaited_by_current(inner))


async def task_cancelled_but_waiting():
    import asyncio
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(3600)


async def task_group_parent():
    import asyncio
    async with asyncio.TaskGroup() as group:
        awaited_by_current(group.create_task(task_sleeping(), name="group-child"))
        awaited_by_current(group.create_task(task_nested_group(), name="group-nested"))
        await asyncio.sleep(3600)


async def task_nested_group():
    import asyncio
    async with asyncio.TaskGroup() as group:
        awaited_by_current(group.create_task(task_sleeping(), name="nested-child"))


async def task_running(part):
    import asyncio
    loop = asyncio.get_running_loop()
    part.running = asyncio.current_task()
    awaited = loop.create_task(task_sleeping(), name="awaited")
    awaited_by(awaited, loop.create_task(task_awaiting(awaited), name="awaiting"))
    loop.create_task(task_gathering(), name="gathering")
    loop.create_task(task_shielding(loop.create_task(task_sleeping(), name="shielded")), name="shielding")
    cancelled = loop.create_task(task_cancelled_but_waiting(), name="cancelled")
    part.python_task = asyncio.tasks._PyTask(task_sleeping(), loop=loop, name="python-task")
    if hasattr(asyncio, "TaskGroup"):
        loop.create_task(task_group_parent(), name="group-parent")
    for _ in range(5):
        await asyncio.sleep(0)
    cancelled.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    threading.Event().wait()  # PARK: running-task


def is_async_frame(frame):
    import inspect
    return frame.f_code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR)


class AsyncioTasks:
    def start(self):
        sys.modules.setdefault("ssl", None)  # as SuspendedObjects does
        import asyncio
        self.loop = asyncio.new_event_loop()
        self.running = self.python_task = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(task_running(self),),
                                       name=TASKS_THREAD, daemon=True)
        self.thread.start()

    def parked(self, stacks):
        frames = stacks.get(self.thread.ident, [])
        return any(f["filename"] == __file__ and f["line"] == park_line("running-task") for f in frames)

    def expected(self, stacks):
        import asyncio
        # From 3.14 asyncio.all_tasks() is _asyncio's, which does not see the pure-Python Task
        # (registered in asyncio.tasks._scheduled_tasks): it is pending on the loop all the same.
        tasks = asyncio.all_tasks(self.loop) | {self.python_task}
        if self.running not in tasks or asyncio.current_task(self.loop) is not self.running:
            raise SystemExit("scenario: the loop's running task is not the part's")
        awaiter_ids = {}
        for task in tasks:
            awaiters = {id(t) for t in TASK_AWAITERS.get(task, ())}
            recorded = getattr(task, "_asyncio_awaited_by", None)  # 3.14+
            if recorded is not None or sys.version_info >= (3, 14):
                if {id(t) for t in recorded or ()} != awaiters:
                    raise SystemExit("scenario: %r records other awaiters than the part made" % task)
            awaiter_ids[task] = sorted(awaiters)
        if set(TASK_AWAITERS) - tasks:
            raise SystemExit("scenario: asyncio.all_tasks() misses tasks the part made")
        return {"tasks": {
            "loop": id(self.loop),
            "loop_thread": self.thread.native_id,
            "running_task": id(self.running),
            "tasks": sorted((self.truth(t, awaiter_ids[t], stacks) for t in tasks), key=lambda t: t["id"]),
        }}

    def truth(self, task, awaiters, stacks):
        import itertools
        if task is self.running:
            # Its coroutines' frames on its thread, as asyncio's tools show a running task: from
            # its coroutine's on, not the calls below them.
            frames = outermost_first(sys._current_frames()[self.thread.ident])
            frames = frames[frames.index(task.get_coro().cr_frame):]
            frames = [describe_frame(f) for f in itertools.takewhile(is_async_frame, frames)]
        else:
            frames, _ = await_chain(task.get_coro())
        cancelling = task.cancelling() if hasattr(task, "cancelling") else task._must_cancel
        return {"id": id(task), "name": task.get_name(), "state": "cancelling" if cancelling else "pending",
                "loop": id(self.loop), "running": task is self.running, "awaited_by": awaiters,
                "frames": [{"name": f["name"], "line": f["line"]} for f in frames]}


PARTS.append(AsyncioTasks())


if __name__ == "__main__":
    main()
