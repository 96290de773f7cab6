"""The process the tasks fuzz seeds are captured from (scripts/make-fuzz-seeds.sh,
tests/fuzz/capture_seed.cpp): one thread running an event loop whose running task is blocked
in a call, with a task awaiting a task, a gather, a shield, a cancelled task still waiting, a
pure-Python Task and, from 3.11, nested TaskGroups. Usage: python task_seed.py READY_FIFO.
Valid Python 3.8 syntax."""
import sys
import time

sys.modules.setdefault("ssl", None)  # OpenSSL's state would only make the image bigger
import asyncio  # noqa: E402


async def sleeping():
    await asyncio.sleep(3600)


async def awaiting(other):
    await other


async def gathering():
    await asyncio.gather(sleeping(), sleeping())


async def shielding(inner):
    await asyncio.shield(inner)


async def cancelled_but_waiting():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(3600)


async def group_parent():
    async with asyncio.TaskGroup() as group:
        group.create_task(sleeping(), name="group-child")
        group.create_task(nested_group(), name="group-nested")
        await asyncio.sleep(3600)


async def nested_group():
    async with asyncio.TaskGroup() as group:
        group.create_task(sleeping(), name="nested-child")


async def main(ready_fifo):
    loop = asyncio.get_running_loop()
    awaited = loop.create_task(sleeping(), name="awaited")
    loop.create_task(awaiting(awaited), name="awaiting")
    loop.create_task(gathering(), name="gathering")
    loop.create_task(shielding(loop.create_task(sleeping(), name="shielded")), name="shielding")
    cancelled = loop.create_task(cancelled_but_waiting(), name="cancelled")
    asyncio.tasks._PyTask(sleeping(), loop=loop, name="python-task")
    if hasattr(asyncio, "TaskGroup"):
        loop.create_task(group_parent(), name="group-parent")
    for _ in range(5):
        await asyncio.sleep(0)
    cancelled.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    with open(ready_fifo, "w") as fifo:
        fifo.write("ready\n")
    time.sleep(3600)  # the loop's running task, blocked


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
