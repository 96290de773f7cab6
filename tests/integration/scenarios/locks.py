"""Scenario: locks held and waited for (issue 17, --locks), with the truth recorded in-process.

Run by the interpreter under test (keep Python 3.8 syntax), as ScenarioProcess runs scenarios:
    python locks.py TRUTH_JSON READY_FIFO PONG_PATH

Threads, each parked for good:
- two: `with a: with b:` against `with b: with a:` (a Barrier between the first and second
  `with`): a two-thread deadlock;
- three: t0 `with l0: with l1:`, t1 `with l1: with l2:`, t2 `with l2: with l0:`: a three-thread cycle;
- rlock: `with r: with r:` then sleeps (an RLock held twice), and another thread blocked at `with r:`;
- pyrlock: the same with threading._PyRLock (the pure-Python RLock);
- cond: `with cond: cond.wait()` (waiting to be notified: it holds nothing while it waits);
- cond_lock: `with cond2:` then sleeps, and another thread blocked at `with cond2:` (waiting for
  the Condition's RLock);
- acquire: `lock.acquire()` (no `with`) then sleeps, and another thread blocked at `with lock:`;
- sem: `with sem:` on a Semaphore(1) then sleeps, and another thread blocked at `with sem:`;
- timed: a thread blocked in `lock.acquire(timeout=...)` (a timed futex wait, which a stop
  turns into restart_syscall) on a Lock the main thread took with acquire().
- asyncio, on a loop of its own thread: tasks ab/ba `async with a: await sleep(0); async with b:`
  against the reverse (a two-task deadlock); a task holding an asyncio.Lock (`async with`, then
  waiting for an Event) and another blocked at `async with` on it; the loop's main task waiting
  for that Event (never set); CROWD tasks each holding one asyncio.Semaphore twice (nested
  `async with`: each is one holder, at its outer line); a task holding an asyncio.Lock that
  BUSY tasks wait for, more than a lock's waiters the tool reads (the lock is still listed, with
  its holder, and no waiters).
Every line where a lock is taken or waited for is tagged `# LOCK: <tag>`. The truth: each
thread's native id and ident, each lock's id(), each tag's line; and the scenario checks, with
sys._current_frames(), that every thread is at the line the case says (its innermost frame outside
threading.py) and that each lock is in the state the case says, else it exits non-zero.
"""
import asyncio
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # scenario_support, from any cwd
sys.dont_write_bytecode = True
from scenario_support import (end_after_lifetime, install_pong_handler, signal_ready, tagged_lines,  # noqa: E402
                              write_json)

FOREVER = 100000
CROWD = 300
BUSY = 10001  # one more than LockObjects reads of one lock's `_waiters`
KEEP = []
THREADS = {}  # name -> Thread
AT = {}  # name -> the tag of the line where it parks


def two_ab(a, b, barrier):
    with a:  # LOCK: two.ab_hold
        barrier.wait()
        with b:  # LOCK: two.ab_wait
            pass


def two_ba(a, b, barrier):
    with b:  # LOCK: two.ba_hold
        barrier.wait()
        with a:  # LOCK: two.ba_wait
            pass


def three(first, second, barrier):
    with first:  # LOCK: three.hold
        barrier.wait()
        with second:  # LOCK: three.wait
            pass


def rlock_twice(r):
    with r:  # LOCK: rlock.hold
        with r:  # LOCK: rlock.hold_again
            time.sleep(FOREVER)  # LOCK: rlock.park


def rlock_waiter(r):
    with r:  # LOCK: rlock.wait
        pass


def py_rlock_waiter(r):
    with r:  # LOCK: pyrlock.wait
        pass


def cond_waiter(cond):
    with cond:  # LOCK: cond.with
        cond.wait()  # LOCK: cond.wait


def cond_holder(cond):
    with cond:  # LOCK: cond_lock.hold
        time.sleep(FOREVER)  # LOCK: cond_lock.park


def cond_contender(cond):
    with cond:  # LOCK: cond_lock.wait
        pass


def acquire_holder(lock):
    lock.acquire()  # LOCK: acquire.hold
    time.sleep(FOREVER)  # LOCK: acquire.park


def acquire_waiter(lock):
    with lock:  # LOCK: acquire.wait
        pass


def timed_waiter(lock):
    lock.acquire(timeout=FOREVER)  # LOCK: timed.wait


def sem_holder(sem):
    with sem:  # LOCK: sem.hold
        time.sleep(FOREVER)  # LOCK: sem.park


def sem_waiter(sem):
    with sem:  # LOCK: sem.wait
        pass


async def atask_ab(a, b):
    async with a:  # LOCK: atwo.ab_hold
        await asyncio.sleep(0)
        async with b:  # LOCK: atwo.ab_wait
            pass


async def atask_ba(a, b):
    async with b:  # LOCK: atwo.ba_hold
        await asyncio.sleep(0)
        async with a:  # LOCK: atwo.ba_wait
            pass


async def atask_holder(lock, never):
    async with lock:  # LOCK: alock.hold
        await never.wait()  # LOCK: alock.park


async def atask_waiter(lock):
    async with lock:  # LOCK: alock.wait
        pass


async def atask_crowd(crowd):
    async with crowd:  # LOCK: crowd.hold
        async with crowd:  # LOCK: crowd.hold_again
            await asyncio.sleep(FOREVER)


async def atask_busy_holder(busy):
    async with busy:  # LOCK: busy.hold
        await asyncio.sleep(FOREVER)


async def atask_busy_waiter(busy):
    async with busy:  # LOCK: busy.wait
        pass


async def amain(truth, parked):
    a, b, held = asyncio.Lock(), asyncio.Lock(), asyncio.Lock()
    never = asyncio.Event()
    tasks = {"ab": asyncio.ensure_future(atask_ab(a, b)), "ba": asyncio.ensure_future(atask_ba(a, b)),
             "holder": asyncio.ensure_future(atask_holder(held, never))}
    while not held.locked():
        await asyncio.sleep(0.01)
    tasks["waiter"] = asyncio.ensure_future(atask_waiter(held))
    while not (a.locked() and b.locked() and len(a._waiters or ()) == 1 and len(b._waiters or ()) == 1
               and len(held._waiters or ()) == 1):
        await asyncio.sleep(0.01)
    crowd, busy = asyncio.Semaphore(2 * CROWD), asyncio.Lock()
    crowd_tasks = [asyncio.ensure_future(atask_crowd(crowd)) for _ in range(CROWD)]
    tasks["busy_holder"] = asyncio.ensure_future(atask_busy_holder(busy))
    while not (busy.locked() and crowd._value == 0):
        await asyncio.sleep(0.01)
    busy_waiters = [asyncio.ensure_future(atask_busy_waiter(busy)) for _ in range(BUSY)]
    while len(busy._waiters or ()) < BUSY:
        await asyncio.sleep(0.01)
    tasks["main"] = asyncio.current_task() if sys.version_info >= (3, 7) else None
    truth.update({"tasks": {name: {"id": id(t), "name": t.get_name()} for name, t in tasks.items()},
                  "crowd": [id(t) for t in crowd_tasks],
                  "alocks": {"a": id(a), "b": id(b), "held": id(held), "never": id(never), "crowd": id(crowd),
                             "busy": id(busy)}})
    KEEP.append((a, b, held, never, tasks, crowd, busy, crowd_tasks, busy_waiters))
    parked.set()
    await never.wait()  # LOCK: amain.wait


def start(name, target, at, *args):
    t = threading.Thread(target=target, args=args, name=name, daemon=True)
    THREADS[name] = t
    AT[name] = at
    t.start()
    return t


def innermost_outside_threading(frame):
    while frame is not None and frame.f_code.co_filename == threading.__file__:
        frame = frame.f_back
    return frame


def settled(lines):
    frames = sys._current_frames()
    for name, t in THREADS.items():
        frame = frames.get(t.ident)
        frame = innermost_outside_threading(frame)
        if frame is None or frame.f_lineno != lines[AT[name]]:
            return False
    return True


def main():
    truth_path, ready_fifo, pong_path = sys.argv[1:4]
    install_pong_handler(pong_path)
    end_after_lifetime()
    lines = {tag: number for number, tag in tagged_lines(__file__, "LOCK").items()}

    a, b = threading.Lock(), threading.Lock()
    two_barrier = threading.Barrier(2)
    start("two-ab", two_ab, "two.ab_wait", a, b, two_barrier)
    start("two-ba", two_ba, "two.ba_wait", a, b, two_barrier)

    ring = [threading.Lock() for _ in range(3)]
    three_barrier = threading.Barrier(3)
    for i in range(3):
        start("three-%d" % i, three, "three.wait", ring[i], ring[(i + 1) % 3], three_barrier)

    r = threading.RLock()
    start("rlock-twice", rlock_twice, "rlock.park", r)
    while r.acquire(blocking=False):  # until rlock-twice holds it
        r.release()
        time.sleep(0.01)
    start("rlock-waiter", rlock_waiter, "rlock.wait", r)

    pr = threading._PyRLock()
    start("pyrlock-twice", rlock_twice, "rlock.park", pr)
    while not pr._count:
        time.sleep(0.01)
    start("pyrlock-waiter", py_rlock_waiter, "pyrlock.wait", pr)

    cond = threading.Condition()
    start("cond-waiter", cond_waiter, "cond.wait", cond)

    cond2 = threading.Condition()
    start("cond-holder", cond_holder, "cond_lock.park", cond2)
    while cond2._lock.acquire(blocking=False):
        cond2._lock.release()
        time.sleep(0.01)
    start("cond-contender", cond_contender, "cond_lock.wait", cond2)

    plain = threading.Lock()
    start("acquire-holder", acquire_holder, "acquire.park", plain)
    while not plain.locked():
        time.sleep(0.01)
    start("acquire-waiter", acquire_waiter, "acquire.wait", plain)

    timed = threading.Lock()
    timed.acquire()  # held by the main thread, without a `with`
    start("timed-waiter", timed_waiter, "timed.wait", timed)

    sem = threading.Semaphore(1)
    start("sem-holder", sem_holder, "sem.park", sem)
    while sem._value:
        time.sleep(0.01)
    start("sem-waiter", sem_waiter, "sem.wait", sem)

    asyncio_truth, parked = {}, threading.Event()
    threading.Thread(target=lambda: asyncio.run(amain(asyncio_truth, parked)), name="asyncio-loop",
                     daemon=True).start()
    if not parked.wait(30):
        sys.exit("the asyncio tasks did not park")

    deadline = time.monotonic() + 30
    while not (settled(lines) and len(cond._waiters) == 1 and len(sem._cond._waiters) == 1):
        if time.monotonic() > deadline:
            frames = sys._current_frames()
            sys.exit("the threads did not reach their lines: %r" % {
                name: getattr(innermost_outside_threading(frames.get(t.ident)), "f_lineno", None)
                for name, t in THREADS.items()})
        time.sleep(0.02)
    time.sleep(0.2)  # from their lines into the lock waits themselves
    if not (a.locked() and b.locked() and all(l.locked() for l in ring) and plain.locked() and sem._value == 0):
        sys.exit("a lock is not in the state the scenario says")
    KEEP.extend([a, b, ring, r, pr, cond, cond2, plain, timed, sem])
    truth = {
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "file": os.path.abspath(__file__),
        "lines": lines,
        "threads": {name: {"tid": t.native_id, "ident": t.ident} for name, t in THREADS.items()},
        "locks": {"a": id(a), "b": id(b), "ring": [id(l) for l in ring], "r": id(r), "pr": id(pr), "cond": id(cond),
                  "cond_lock": id(cond._lock), "cond2": id(cond2), "cond2_lock": id(cond2._lock), "plain": id(plain), "timed": id(timed),
                  "sem": id(sem), "sem_cond": id(sem._cond)},
        "lock_types": {"lock": type(a).__name__, "rlock": type(r).__name__, "pyrlock": type(pr).__name__},
    }
    truth.update(asyncio_truth)
    write_json(truth_path, truth, indent=1)
    signal_ready(ready_fifo)
    time.sleep(FOREVER)


if __name__ == "__main__":
    main()
