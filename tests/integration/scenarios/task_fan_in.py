"""Scenario: many tasks awaiting one thing. `waiter-N` (WAITERS of them) each await one
gather that lists DONE finished tasks, then the sleeping task `gathered` REPEATS times
(gather(t, t, ...) keeps every copy in its children); `caller-N` (WAITERS of them) each await
the sleeping task `shared` directly (a single-flight refresh).
Usage: python task_fan_in.py READY_FIFO WAITERS REPEATS DONE"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready  # noqa: E402


async def main(ready, waiters, repeats, done_count):
    loop = asyncio.get_running_loop()
    done = [loop.create_task(asyncio.sleep(0), name="done-%d" % i) for i in range(done_count)]
    await asyncio.gather(*done)
    gathered = loop.create_task(asyncio.sleep(3600), name="gathered")
    shared = loop.create_task(asyncio.sleep(3600), name="shared")
    gathering = asyncio.gather(*done, *[gathered] * repeats)

    async def wait_gather():
        await gathering

    async def call_shared():
        await shared

    tasks = [loop.create_task(wait_gather(), name="waiter-%d" % i) for i in range(waiters)]
    tasks += [loop.create_task(call_shared(), name="caller-%d" % i) for i in range(waiters)]
    await asyncio.sleep(0.1)  # every task now waits
    signal_ready(ready)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
