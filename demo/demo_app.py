"""A small program for stackscope to look at: a few threads parked in different places,
upstream stackscope's generator / ExitStack example running on one of them, and an asyncio
event loop running a small service: a request-handling task waiting deep in an await chain,
a TaskGroup of workers waiting on a queue, a task gathering two fetches, one waiting for
an Event (`--tasks` shows who awaits whom), and a cache writer holding an asyncio.Lock that a
cache reader waits for (`--locks`).

Usage: python3 demo_app.py READY_FIFO   (writes "ready TASK_ID" to the FIFO once every thread
is parked, TASK_ID being id() of the suspended asyncio Task, for `--object`)
"""
import asyncio
import contextlib
import queue
import sys
import threading
import time

all_parked = threading.Barrier(6)
stop = threading.Event()


@contextlib.contextmanager
def null_context():
    yield


def some_cb(*args, **kwargs):
    pass


@contextlib.contextmanager
def inner_context():
    stack = contextlib.ExitStack()
    with stack:
        stack.enter_context(null_context())
        stack.callback(some_cb, 10, "hi", answer=42)
        yield "inner"


@contextlib.contextmanager
def outer_context():
    with inner_context() as inner:
        yield "outer"


def example():
    with outer_context():
        all_parked.wait()
        stop.wait()
        yield


def call_example():
    yield from example()


def run_example():
    for _ in call_example():
        pass


def serve(jobs):
    all_parked.wait()
    while not stop.is_set():
        job = jobs.get()
        if job is None:
            return


def nap():
    all_parked.wait()
    time.sleep(3600)


def crunch(depth):
    if depth:
        return crunch(depth - 1)
    with threading.Lock():
        all_parked.wait()
        stop.wait()


async def fetch(url, ready):
    await ready.wait()
    return url


async def handle_request(url, ready):
    body = await fetch(url, ready)
    return len(body)


async def work(jobs):
    while True:
        url = await jobs.get()
        await fetch(url, asyncio.Event())


async def use_cache(lock, ready):
    async with lock:
        await ready.wait()


async def crawl(urls, ready):
    return await asyncio.gather(*(fetch(url, ready) for url in urls))


async def worker_pool(jobs, size):
    async with asyncio.TaskGroup() as pool:
        for number in range(size):
            pool.create_task(work(jobs), name="worker-%d" % number)
        await asyncio.sleep(3600)  # the pool's parent waits while its workers do


def run_event_loop(started):
    async def serve():
        asyncio.current_task().set_name("service")
        ready = asyncio.Event()
        jobs = asyncio.Queue()
        started.append(asyncio.create_task(handle_request("https://example.org/", ready), name="request"))
        asyncio.create_task(worker_pool(jobs, 3), name="pool")
        asyncio.create_task(crawl(["https://example.org/a", "https://example.org/b"], ready), name="crawler")
        asyncio.create_task(ready.wait(), name="ready-waiter")
        cache_lock = asyncio.Lock()
        asyncio.create_task(use_cache(cache_lock, ready), name="cache-writer")
        asyncio.create_task(use_cache(cache_lock, ready), name="cache-reader")  # waits for the writer
        for _ in range(3):  # every task runs up to its await
            await asyncio.sleep(0)
        all_parked.wait()
        await asyncio.sleep(3600)

    asyncio.run(serve())


def main():
    jobs = queue.Queue()
    tasks = []
    threads = [
        threading.Thread(target=run_example, name="example", daemon=True),
        threading.Thread(target=serve, args=(jobs,), name="worker-1", daemon=True),
        threading.Thread(target=nap, name="sleeper", daemon=True),
        threading.Thread(target=crunch, args=(3,), name="cruncher", daemon=True),
        threading.Thread(target=run_event_loop, args=(tasks,), name="event-loop", daemon=True),
    ]
    for t in threads:
        t.start()
    all_parked.wait()
    time.sleep(0.2)  # let every thread pass the barrier and reach its parking place
    with open(sys.argv[1], "w") as ready:
        ready.write("ready %d\n" % id(tasks[0]))
    stop.wait()


if __name__ == "__main__":
    main()
