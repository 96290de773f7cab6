"""Scenario: asyncio tasks (issue 16) on three event loops running on three threads and one
stopped loop, every task parked (or, on one thread, running), with their truth recorded
in-process.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python asyncio_tasks.py TRUTH_JSON READY_FIFO PONG_PATH

The variant comes from $STACKSCOPE_TASKS_VARIANT (default "plain"): "uvloop" runs the same
tasks on uvloop loops (Debian's python3-uvloop, /usr/bin/python3 only).

Loops and tasks (each task has a role; its name is the role unless the role says `auto`):
- loop "a" on the main thread: its main task (auto name) parked on a Future that never
  completes; a task awaiting a task whose chain is three coroutines deep; `gather` of two
  coroutines (auto-named tasks) and a task; a gather of a gather of the same gather, 40 deep;
  `shield` of a task; `gather` of a `shield` of a task; `shield` of a `gather` of two tasks;
  `wait_for` of a task with a timeout; a task awaited by two tasks;
  a task whose cancel() cannot cancel its waiter (a Future whose cancel() returns False: it
  stays cancelling on every version); a task that catches CancelledError and awaits again
  (cancelling from 3.11: cancelling() > 0 without uncancel(); pending before, where only
  _must_cancel counts and it is reset once the error is thrown in); pure-Python tasks
  (asyncio.tasks._PyTask) awaiting and awaited by C tasks; 3.11+: nested TaskGroups, the outer
  parent parked in __aexit__, the inner one still in its body with its child created there.
- loop "b" on thread "loop-b": its main task, and pure-Python tasks (one with an automatic
  name: _PyTask counts its names apart from the C Task).
- loop "d", not running: run on the main thread until its tasks (a task awaiting a task)
  parked, then left stopped.
- loop "c" on thread "loop-running": a task that blocks its thread synchronously (time.sleep)
  two coroutines deep, so the loop is running it when the snapshot is taken. 3.12+ (plain):
  the loop's task factory is asyncio.eager_task_factory; an eager task that parked in its first
  step (it moved to the scheduled tasks) and the blocking task is eager and blocked in its first
  step (it is in _eager_tasks; the main task is on the stack too, inside create_task). Before
  3.12 the main task awaits the blocking task.

The truth, per task of asyncio.all_tasks(loop) of each loop (read by a thread of its own once
every loop is parked; on 3.14+ also asyncio.tasks._py_all_tasks(loop): the C all_tasks() reads
its own registries and misses the pure-Python tasks, which register in tasks._scheduled_tasks):
id(), get_name(), state (3.11+: "cancelling" when cancelling() > 0; before: when _must_cancel),
id(loop), the ids of the tasks awaiting it (from what the scenario built: EDGES), its class,
its repr without the `wait_for=` and `cb=` parts (as CPython's base_tasks builds it), its
chain of frames (outermost first): following cr_await from task.get_coro() while the object is
a coroutine (as `asyncio ps` does: awaiting a pure-Python Task, a coroutine awaits its
__await__ generator, which is not part of the chain); for a running
coroutine (cr_await is then None), the frames on its thread's stack from the coroutine's frame
on while they are coroutine frames and not another task's coroutine. 3.14+: also what the
runtime itself records (Future._asyncio_awaited_by). Per thread: native id, name, the loop it
runs and that loop's running task (asyncio.current_task(loop)). Lines where frames are
expected are tagged `# AT: <tag>`.
"""
import asyncio
import asyncio.base_tasks
import os
import sys
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.dont_write_bytecode = True
from scenario_support import (end_after_lifetime, install_pong_handler, signal_ready, tagged_lines,  # noqa: E402
                              tool_function_name, write_json)

VARIANT = os.environ.get("STACKSCOPE_TASKS_VARIANT", "plain")
VARIANTS = ("plain", "uvloop")
HOUR = 3600
SETTLE_ROUNDS = 20  # loop iterations that bring every task to where it parks
READY_TIMEOUT = 60
COLLECTOR = "truth-collector"  # the thread that writes the truth and ends
CO_GENERATOR, CO_COROUTINE = 0x20, 0x80
TASKGROUPS = sys.version_info >= (3, 11)
EAGER = sys.version_info >= (3, 12)

ROLES = {}  # role -> Task
EDGES = []  # (awaited role, awaiting role): who awaits whom, as the scenario builds it
LOOPS = {}  # loop role -> loop
LOOP_THREADS = {}  # loop role -> Thread running it
LOOP_RAN_ON = {}  # loop role -> Thread that ran it, for a loop that does not run any more


def fail(message):
    sys.stderr.write("scenario: %s\n" % message)
    sys.stderr.flush()
    os._exit(3)


def new_loop():
    if VARIANT == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def py_task(loop, coro, name=None):
    """A pure-Python Task (the class asyncio uses when _asyncio is missing)."""
    return asyncio.tasks._PyTask(coro, loop=loop, name=name)


def awaits(awaited, awaiter):
    EDGES.append((awaited, awaiter))


# --- the coroutines -----------------------------------------------------------------------------


async def sleeper(role=None):
    if role is not None:  # a task made by gather: the scenario learns which it is here
        ROLES[role] = asyncio.current_task()
    await asyncio.sleep(HOUR)  # AT: sleeper


async def deepest():
    await asyncio.sleep(HOUR)  # AT: deepest


async def deeper():
    await deepest()  # AT: deeper


async def await_child():
    await deeper()  # AT: await_child


async def await_task(task):
    await task  # AT: await_task


async def gatherer(task):
    await asyncio.gather(sleeper("gather-1-auto"), sleeper("gather-2-auto"), task)  # AT: gatherer


async def gathers_twice(task):
    # gather(g, g) lists g twice: gathered 40 times over, each copy walked would be 2**40 steps.
    gathering = asyncio.gather(task)
    for _ in range(40):
        gathering = asyncio.gather(gathering, gathering)
    await gathering  # AT: gathers_twice


async def shielder(task):
    await asyncio.shield(task)  # AT: shielder


async def gathers_shield(task):
    await asyncio.gather(asyncio.shield(task))  # AT: gathers_shield


async def shields_gather(*tasks):
    await asyncio.shield(asyncio.gather(*tasks))  # AT: shields_gather


async def waits_for(task):
    await asyncio.wait_for(task, HOUR)  # AT: waits_for


async def shared_waiter(task):
    await task  # AT: shared_waiter


class UncancellableFuture(asyncio.Future):
    """Task.cancel() asks its waiter to cancel first; this one refuses, so the task itself must
    cancel (_must_cancel) and stays pending, cancelling, on every version."""

    def cancel(self, *args, **kwargs):
        return False


async def awaits_uncancellable(future):
    await future  # AT: uncancellable


async def stubborn():
    try:
        await asyncio.sleep(HOUR)  # AT: stubborn_first
    except asyncio.CancelledError:
        await asyncio.sleep(HOUR)  # AT: stubborn_after_cancel


async def tg_outer():
    async with asyncio.TaskGroup() as group:  # AT: tg_outer
        ROLES["tg-middle"] = group.create_task(tg_middle(), name="tg-middle")
        ROLES["tg-leaf-a"] = group.create_task(sleeper(), name="tg-leaf-a")


async def tg_middle():
    async with asyncio.TaskGroup() as group:
        ROLES["tg-leaf-b"] = group.create_task(sleeper(), name="tg-leaf-b")
        await asyncio.sleep(HOUR)  # AT: tg_middle_body


async def blocking_step(role):
    ROLES[role] = asyncio.current_task()  # an eager task runs before create_task returns it
    await block_in_thread()  # AT: blocking_step


async def block_in_thread():
    time.sleep(HOUR * 24)  # AT: block_in_thread


async def settle():
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)


async def park_forever(loop, ready):
    """The main task's end: parked on a Future nobody completes; the loop says it is ready on
    its next iteration, after this task parked."""
    forever = loop.create_future()
    loop.call_soon(ready.set)
    await forever  # AT: loop_main


# --- the loops' main tasks ------------------------------------------------------------------------


async def loop_a_main(loop, ready):
    ROLES["a-main-auto"] = asyncio.current_task()
    child = ROLES["await-child"] = loop.create_task(await_child(), name="await-child")
    ROLES["await-parent"] = loop.create_task(await_task(child), name="await-parent")
    awaits("await-child", "await-parent")

    gathered = ROLES["gather-task"] = loop.create_task(sleeper(), name="gather-task")
    ROLES["gatherer"] = loop.create_task(gatherer(gathered), name="gatherer")
    for role in ("gather-1-auto", "gather-2-auto", "gather-task"):
        awaits(role, "gatherer")

    twice = ROLES["gathered-twice"] = loop.create_task(sleeper(), name="gathered-twice")
    ROLES["gathers-twice"] = loop.create_task(gathers_twice(twice), name="gathers-twice")
    awaits("gathered-twice", "gathers-twice")

    shielded = ROLES["shielded"] = loop.create_task(sleeper(), name="shielded")
    ROLES["shielder"] = loop.create_task(shielder(shielded), name="shielder")
    awaits("shielded", "shielder")

    gather_shielded = ROLES["gather-shielded"] = loop.create_task(sleeper(), name="gather-shielded")
    ROLES["gathers-shield"] = loop.create_task(gathers_shield(gather_shielded), name="gathers-shield")
    awaits("gather-shielded", "gathers-shield")

    shield_gathered = [loop.create_task(sleeper(), name="shield-gathered-%d" % i) for i in (1, 2)]
    ROLES["shields-gather"] = loop.create_task(shields_gather(*shield_gathered), name="shields-gather")
    for task in shield_gathered:
        ROLES[task.get_name()] = task
        awaits(task.get_name(), "shields-gather")

    waited_for = ROLES["waited-for"] = loop.create_task(sleeper(), name="waited-for")
    ROLES["waits-for"] = loop.create_task(waits_for(waited_for), name="waits-for")
    awaits("waited-for", "waits-for")

    shared = ROLES["shared"] = loop.create_task(sleeper(), name="shared")
    for role in ("shared-waiter-1", "shared-waiter-2"):
        ROLES[role] = loop.create_task(shared_waiter(shared), name=role)
        awaits("shared", role)

    uncancellable = UncancellableFuture(loop=loop)
    ROLES["cancel-uncancellable"] = loop.create_task(awaits_uncancellable(uncancellable), name="cancel-uncancellable")
    ROLES["cancel-stubborn"] = loop.create_task(stubborn(), name="cancel-stubborn")

    c_awaited = ROLES["c-awaited-by-py"] = loop.create_task(await_child(), name="c-awaited-by-py")
    ROLES["py-awaits-c"] = py_task(loop, await_task(c_awaited), name="py-awaits-c")
    awaits("c-awaited-by-py", "py-awaits-c")
    py_awaited = ROLES["py-awaited-by-c"] = py_task(loop, deeper(), name="py-awaited-by-c")
    ROLES["c-awaits-py"] = loop.create_task(await_task(py_awaited), name="c-awaits-py")
    awaits("py-awaited-by-c", "c-awaits-py")

    if TASKGROUPS:
        ROLES["tg-outer"] = loop.create_task(tg_outer(), name="tg-outer")
        awaits("tg-middle", "tg-outer")
        awaits("tg-leaf-a", "tg-outer")
        awaits("tg-leaf-b", "tg-middle")

    await settle()
    ROLES["cancel-uncancellable"].cancel()
    ROLES["cancel-stubborn"].cancel()
    await settle()
    await park_forever(loop, ready)  # AT: a_main


async def loop_b_main(loop, ready):
    ROLES["b-main-auto"] = asyncio.current_task()
    child = ROLES["b-child"] = loop.create_task(deeper(), name="b-child")
    ROLES["b-py-parent"] = py_task(loop, await_task(child), name="b-py-parent")
    awaits("b-child", "b-py-parent")
    ROLES["b-py-auto"] = py_task(loop, sleeper())
    await settle()
    await park_forever(loop, ready)  # AT: b_main


async def loop_c_main(loop, ready):
    ROLES["c-main-auto"] = asyncio.current_task()
    if EAGER and VARIANT == "plain":
        loop.set_task_factory(asyncio.eager_task_factory)
        ROLES["eager-sleeper"] = loop.create_task(sleeper(), name="eager-sleeper")
        ready.set()  # from here on the thread blocks in the eager task's first step
        loop.create_task(blocking_step("eager-blocker"), name="eager-blocker")  # AT: c_main_eager
    else:
        blocker = loop.create_task(blocking_step("blocker"), name="blocker")
        awaits("blocker", "c-main-auto")
        ready.set()
        await blocker  # AT: c_main


async def loop_d_setup(loop):
    child = ROLES["idle-child"] = loop.create_task(deeper(), name="idle-child")
    ROLES["idle-parent"] = loop.create_task(await_task(child), name="idle-parent")
    awaits("idle-child", "idle-parent")
    await settle()


def leave_loop_stopped():
    """Loop d: run until its tasks park, then left stopped (not closed), its tasks pending."""
    loop = LOOPS["d"] = new_loop()
    loop.run_until_complete(loop_d_setup(loop))
    LOOP_RAN_ON["d"] = threading.current_thread()


def run_loop(role, main, ready):
    loop = LOOPS[role] = new_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main(loop, ready))


def start_loop(role, thread_name, main):
    ready = threading.Event()
    thread = LOOP_THREADS[role] = threading.Thread(target=run_loop, args=(role, main, ready), name=thread_name,
                                                   daemon=True)
    thread.start()
    if not ready.wait(READY_TIMEOUT):
        fail("loop %s not ready after %ds" % (role, READY_TIMEOUT))
    return thread


def wait_until_blocked(thread):
    """Until the thread's innermost frame is block_in_thread at its sleep."""
    line = TAGS_BY_NAME["block_in_thread"]
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        frame = sys._current_frames().get(thread.ident)
        if frame is not None and frame.f_code is block_in_thread.__code__ and frame.f_lineno == line:
            return
        time.sleep(0.01)
    fail("thread %s never blocked in block_in_thread" % thread.name)


# --- the truth ----------------------------------------------------------------------------------

TAGS = tagged_lines(os.path.abspath(__file__), "AT")
TAGS_BY_NAME = {tag: line for line, tag in TAGS.items()}


def state_of(task):
    if sys.version_info >= (3, 11):
        return "cancelling" if task.cancelling() > 0 else "pending"
    return "cancelling" if task._must_cancel else "pending"


def description_of(task):
    """The task's repr as CPython builds it, without its `wait_for=` and `cb=` parts."""
    info = [part for part in asyncio.base_tasks._task_repr_info(task)
            if not part.startswith("wait_for=") and not part.startswith("cb=")]
    return "<%s %s>" % (type(task).__name__, " ".join(info))


def frame_truth(frame):
    code = frame.f_code
    return {"name": code.co_name, "function": tool_function_name(frame), "line": frame.f_lineno,
            "filename": code.co_filename, "tag": TAGS.get(frame.f_lineno) if code.co_filename == __file__ else None,
            "kind": "coroutine" if code.co_flags & CO_COROUTINE else "generator" if code.co_flags & CO_GENERATOR
            else "function"}


def suspended_chain(coro):
    frames = []
    obj = coro
    while obj is not None:
        if isinstance(obj, types.CoroutineType):
            frame, obj = obj.cr_frame, obj.cr_await
        else:  # a Future, a generator (a pure-Python Future's __await__): not the task's chain

            break
        if frame is None:
            break
        frames.append(frame)
    return frames


def thread_stack(thread):
    frames = []
    frame = sys._current_frames()[thread.ident]
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


def running_chain(coro, thread, task_roots):
    stack = thread_stack(thread)
    start = next((i for i, f in enumerate(stack) if f is coro.cr_frame), None)
    if start is None:
        fail("running coroutine %r is not on its thread's stack" % coro)
    frames = [stack[start]]
    for frame in stack[start + 1:]:
        if not frame.f_code.co_flags & CO_COROUTINE or frame in task_roots:
            break
        frames.append(frame)
    return frames


def ids(tasks):
    return sorted(id(t) for t in tasks)


def collect():
    role_of = {id(task): role for role, task in ROLES.items()}
    loop_role = {id(loop): role for role, loop in LOOPS.items()}
    tasks = []
    py_only = []
    for role, loop in sorted(LOOPS.items()):
        found = set(asyncio.all_tasks(loop))
        py_all_tasks = getattr(asyncio.tasks, "_py_all_tasks", None)
        if py_all_tasks is not None:  # 3.14+: the C all_tasks() misses what the Python registry holds
            py_only += [role_of.get(id(t), repr(t)) for t in py_all_tasks(loop) - found]
            found |= py_all_tasks(loop)
        tasks += [(role, t) for t in found]
    if sorted(role_of.get(id(t), "?") for _, t in tasks) != sorted(ROLES):
        fail("all_tasks %r != the scenario's tasks %r" % (sorted(role_of.get(id(t), repr(t)) for _, t in tasks),
                                                           sorted(ROLES)))
    task_roots = [t.get_coro().cr_frame for _, t in tasks]
    truth_tasks = []
    for role_of_loop, task in tasks:
        role = role_of[id(task)]
        coro = task.get_coro()
        running = bool(coro.cr_running)
        if running:
            frames = running_chain(coro, LOOP_THREADS[role_of_loop], task_roots)
        else:
            frames = suspended_chain(coro)
            if task._fut_waiter is None:
                fail("task %s is neither running nor waiting" % role)
        awaited_by_runtime = getattr(task, "_asyncio_awaited_by", "absent")
        truth_tasks.append({
            "role": role, "id": id(task), "name": task.get_name(), "state": state_of(task),
            "loop": id(task.get_loop()), "loop_role": loop_role[id(task.get_loop())], "class": type(task).__name__,
            "pure_python": type(task) is asyncio.tasks._PyTask,
            "running": running,
            "awaited_by": sorted(id(ROLES[awaiter]) for awaited, awaiter in EDGES if awaited == role),
            "awaited_by_runtime": None if awaited_by_runtime == "absent" else ids(awaited_by_runtime or ()),
            "description": description_of(task),
            "frames": [frame_truth(f) for f in frames],
        })
    threads = []
    for thread in threading.enumerate():
        if thread.name == COLLECTOR:
            continue
        role = next((r for r, t in LOOP_THREADS.items() if t is thread), None)
        loop = LOOPS.get(role)
        current = asyncio.current_task(loop) if loop is not None else None
        threads.append({"tid": thread.native_id, "name": thread.name, "loop": id(loop) if loop else None,
                        "loop_role": role, "loop_running": loop.is_running() if loop else None,
                        "running_task": id(current) if current is not None else None})
    eager = getattr(asyncio.tasks, "_eager_tasks", None)
    return {
        "variant": VARIANT,
        "python": list(sys.version_info[:3]),
        "scenario_file": os.path.abspath(__file__),
        "loops": [{"role": r, "id": id(l), "type": "%s.%s" % (type(l).__module__, type(l).__qualname__),
                   "running": l.is_running(),
                   "thread_tid": LOOP_THREADS[r].native_id if r in LOOP_THREADS else None,
                   "ran_on_tid": (LOOP_THREADS.get(r) or LOOP_RAN_ON.get(r)).native_id}
                  for r, l in sorted(LOOPS.items())],
        "threads": threads,
        "tasks": truth_tasks,
        "edges": [[id(ROLES[a]), id(ROLES[b])] for a, b in EDGES],
        "premises": {
            "eager_tasks": None if eager is None else sorted(role_of.get(id(t), repr(t)) for t in eager),
            "missed_by_all_tasks": sorted(py_only),
        },
    }


def collect_when_ready(a_ready, truth_path, ready_fifo):
    if not a_ready.wait(READY_TIMEOUT):
        fail("loop a not ready after %ds" % READY_TIMEOUT)
    write_json(truth_path, collect(), indent=1)
    signal_ready(ready_fifo)


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    if VARIANT not in VARIANTS:
        fail("unknown variant %r" % VARIANT)
    end_after_lifetime()
    install_pong_handler(pong_path)
    start_loop("b", "loop-b", loop_b_main)  # first: its main task is the C Task-1, as b-py-auto is _PyTask's
    wait_until_blocked(start_loop("c", "loop-running", loop_c_main))
    leave_loop_stopped()
    # Loop a runs on the main thread (3.14's `asyncio ps` reads only the main thread's tasks);
    # a short-lived thread writes the truth once it is parked.
    a_ready = threading.Event()
    threading.Thread(target=collect_when_ready, args=(a_ready, truth_path, ready_fifo), name=COLLECTOR).start()
    LOOP_THREADS["a"] = threading.current_thread()
    run_loop("a", loop_a_main, a_ready)


if __name__ == "__main__":
    main()
