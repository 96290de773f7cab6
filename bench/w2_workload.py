"""Benchmark workload W2: GROUPS asyncio TaskGroups, each the `async with` of its own parent
task with LEAVES sleeping child tasks (defaults 1000 x 9: 10,000 tasks with the parents, plus
the main task), all on one event loop in the main thread.

    python3.14 w2_workload.py READY_FIFO [GROUPS [LEAVES]]

Writes "N tasks" (asyncio.all_tasks()) and "ready" to READY_FIFO once every task is parked, then the loop idles (every task
sleeps an hour) until the process is killed. Needs asyncio.TaskGroup (3.11+)."""
import asyncio
import sys


async def leaf():
    await asyncio.sleep(3600)


async def group(leaves):
    async with asyncio.TaskGroup() as children:
        for number in range(leaves):
            children.create_task(leaf(), name="leaf-%d" % number)


async def main(fifo, groups, leaves):
    for number in range(groups):
        asyncio.create_task(group(leaves), name="group-%d" % number)
    for _ in range(3):  # the parents create their children, the children start sleeping
        await asyncio.sleep(0)
    with open(fifo, "w") as out:
        out.write("%d tasks\nready\n" % len(asyncio.all_tasks()))
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000,
                     int(sys.argv[3]) if len(sys.argv) > 3 else 9))
