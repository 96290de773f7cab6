"""A small program for stackscope to look at: a few threads parked in different places,
and upstream stackscope's generator / ExitStack example running on one of them.

Usage: python3 demo_app.py READY_FIFO   (writes "ready" to the FIFO once every thread is parked)
"""
import contextlib
import queue
import sys
import threading
import time

all_parked = threading.Barrier(5)
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


def main():
    jobs = queue.Queue()
    threads = [
        threading.Thread(target=run_example, name="example", daemon=True),
        threading.Thread(target=serve, args=(jobs,), name="worker-1", daemon=True),
        threading.Thread(target=nap, name="sleeper", daemon=True),
        threading.Thread(target=crunch, args=(3,), name="cruncher", daemon=True),
    ]
    for t in threads:
        t.start()
    all_parked.wait()
    time.sleep(0.2)  # let every thread pass the barrier and reach its parking place
    with open(sys.argv[1], "w") as ready:
        ready.write("ready\n")
    stop.wait()


if __name__ == "__main__":
    main()
