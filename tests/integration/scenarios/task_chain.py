"""Scenario: a chain of tasks, each awaiting the next, the last asleep. Each task's leaf is
the next task, whose repr nests the rest of the chain through `wait_for=`.
Usage: python task_chain.py READY_FIFO COUNT"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # scenario_support, from any cwd
from scenario_support import signal_ready  # noqa: E402


async def link(index, count, ready):
    if index == count - 1:
        signal_ready(ready)
        await asyncio.sleep(3600)
    await asyncio.get_running_loop().create_task(link(index + 1, count, ready), name="link-%d" % (index + 1))


def main():
    ready, count = sys.argv[1], int(sys.argv[2])
    loop = asyncio.new_event_loop()
    loop.run_until_complete(loop.create_task(link(0, count, ready), name="link-0"))


if __name__ == "__main__":
    main()
