"""Scenario for the debugger front-ends' `tasks` commands: one event loop on its own thread
with a few parked asyncio tasks, their names and ids written as truth.

Run by the interpreter under test (keep Python 3.8 syntax):
    python frontend_tasks.py TRUTH_JSON READY_FIFO PONG_FILE

The thread "event-loop" runs a loop whose task "main" creates, each named:
- "lone", sleeping, and "waiter", awaiting "lone" directly;
- "gatherer", awaiting asyncio.gather of "g1" and "g2" (sleeping);
- "event-waiter", awaiting an asyncio.Event; "queue-worker", awaiting an empty asyncio.Queue;
- from 3.11, "grouper", inside `async with asyncio.TaskGroup()` with children "w1" and "w2"
  (sleeping), its body awaiting the Event;
then "main" blocks its thread in a threading.Event, so that the loop is running "main".
TRUTH_JSON: {"tasks": {name: id()} of asyncio.all_tasks() (every task above and "main"),
"loop": id(loop), "loop_thread": its native id, "running_task": "main"}. Then "ready" goes to READY_FIFO and the main
thread sleeps; SIGUSR1 appends "pong" to PONG_FILE.
The front-end tests compare each debugger's `tasks` output with the CLI's `--tasks`; the
tasks' own truth (frames, who awaits whom) is test_tasks.py's business.
"""
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import end_after_lifetime, install_pong_handler, signal_ready, write_json  # noqa: E402


async def sleeper():
    await asyncio.sleep(3600)


async def waiter(task):
    await task


async def gatherer(loop):
    await asyncio.gather(loop.create_task(sleeper(), name="g1"), loop.create_task(sleeper(), name="g2"))


async def event_waiter(event):
    await event.wait()


async def queue_worker(queue):
    await queue.get()


async def grouper(event):
    async with asyncio.TaskGroup() as group:
        group.create_task(sleeper(), name="w1")
        group.create_task(sleeper(), name="w2")
        await event.wait()


async def main(loop, parked):
    never = asyncio.Event()
    queue = asyncio.Queue()
    lone = loop.create_task(sleeper(), name="lone")
    loop.create_task(waiter(lone), name="waiter")
    loop.create_task(gatherer(loop), name="gatherer")
    loop.create_task(event_waiter(never), name="event-waiter")
    loop.create_task(queue_worker(queue), name="queue-worker")
    if hasattr(asyncio, "TaskGroup"):
        loop.create_task(grouper(never), name="grouper")
    for _ in range(5):  # every task runs up to its await
        await asyncio.sleep(0)
    parked["tasks"] = {task.get_name(): id(task) for task in asyncio.all_tasks()}
    parked["loop"] = id(loop)
    parked["loop_thread"] = threading.get_native_id()
    parked["event"].set()
    threading.Event().wait()  # the loop's thread runs "main" from now on


def run_loop(parked):
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(loop.create_task(main(loop, parked), name="main"))


def main_thread():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    parked = {"event": threading.Event()}
    threading.Thread(target=run_loop, args=(parked,), name="event-loop", daemon=True).start()
    if not parked["event"].wait(30):
        sys.exit("frontend_tasks: the event loop did not park its tasks")
    time.sleep(0.2)  # let the loop reach its select
    write_json(truth_path, {
        "pid": os.getpid(),
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "tasks": parked["tasks"],
        "loop": parked["loop"],
        "loop_thread": parked["loop_thread"],
        "running_task": "main",
    })
    signal_ready(ready_fifo)
    while True:
        time.sleep(100000)


if __name__ == "__main__":
    main_thread()
