"""Scenario: asyncio tasks are created and finish all the time, on a loop that never idles
for long, while a few long-lived tasks wait. Usage: python task_churn.py READY_FIFO"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready  # noqa: E402


async def short_life(depth):
    if depth:
        return await short_life(depth - 1)
    await asyncio.sleep(0)


async def long_life():
    # A Future whose result holds itself, in a local for as long as this waits: --locals shows it.
    done = asyncio.get_running_loop().create_future()
    done.set_result([done])
    await asyncio.sleep(3600)


async def shielded(depth):
    # A Future whose result holds Futures, alive while this task waits: --locals shows it.
    done = asyncio.get_running_loop().create_future()
    done.set_result([done, asyncio.ensure_future(short_life(depth))])
    await asyncio.shield(done.result()[1])


async def churn():
    n = 0
    while True:
        await asyncio.gather(shielded(n % 3), *(short_life(i % 5) for i in range(20)))
        n += 1
        if n % 50 == 0:
            await asyncio.sleep(0.001)


async def main():
    keep = [asyncio.ensure_future(long_life()) for _ in range(3)]
    churner = asyncio.ensure_future(churn())
    await asyncio.sleep(0.1)
    signal_ready(sys.argv[1])
    await asyncio.gather(churner, *keep)


if __name__ == "__main__":
    asyncio.run(main())
