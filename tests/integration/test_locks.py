"""--locks (issue 17): who holds which lock and who waits for it, and the deadlocks named, against
the truth scenarios/locks.py records in-process (threads' native ids, the locks' id(), the tagged
`with` lines), on every interpreter, live and from a core. One scenario process and one core per
interpreter; each distinct tool run once.

The contract, per lock of the scenario (and no other lock listed): its type, state (locked, an
RLock's count, a semaphore's value), its holders (thread tid and the line of the `with` that took
it: the outermost, for an RLock held twice) and its waiters (tid and the line where each waits,
its innermost frame outside threading.py). A Lock held through acquire() has no known holder; a
thread in Condition.wait waits on the Condition and holds nothing. Deadlocks: exactly the two
cycles of threads and the one of asyncio tasks, each member holding what the previous member waits
for (rotations aside), with the lines; no unidentified waits; exit 0. asyncio (`type`
asyncio.Lock / asyncio.Event): an `async with` holds a Lock while it is locked; a task awaiting
one of a lock's `_waiters` futures waits for it (an Event: on it), at its innermost line outside
asyncio.locks. A semaphore held twice by each of many tasks lists each once, at its outer
line; a lock with more waiters than the tool reads is listed with its holder, no waiters, and a
state (in its holders' contexts) that says its waiters could not be read.
"""
import json

import jsonschema
import pytest

from harness import ScenarioCache, describe, run_once_on
from interpreters import INTERPRETERS

SCRIPT = "locks.py"


def rows():
    params = []
    for interp in INTERPRETERS:
        for mode in ("live", "core"):
            params.append(pytest.param(interp, mode, id="%s-%s" % (interp.label, mode),
                                       marks=pytest.mark.xdist_group(interp.label)))
    return params


ROWS = pytest.mark.parametrize("interp,mode", rows(), indirect=["interp"], scope="session")


@pytest.fixture(scope="session")
def locks_cache(tmp_path_factory):
    cache = ScenarioCache(tmp_path_factory, "locks", SCRIPT)
    yield cache
    cache.close()


@pytest.fixture
def locks_scenario(locks_cache, python, interp):
    return locks_cache.scenario(python, interp)


@pytest.fixture
def truth(locks_scenario):
    return locks_scenario.truth


@pytest.fixture
def locks_target(mode, locks_cache, locks_scenario, python):
    if mode == "live":
        return ["pid", locks_scenario.pid]
    return ["core", locks_cache.core(), "--executable", python]


@pytest.fixture
def run_locks(tool, tool_runs, locks_target):
    def run(*options):
        return run_once_on(tool, tool_runs, locks_target, (), ("--locks",) + options)

    return run


@pytest.fixture
def locks_json(run_locks):
    result = run_locks("--format", "json")
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def site(truth, thread, tag):
    return (truth["threads"][thread]["tid"], truth["lines"][tag])


def task_site(truth, task, tag):
    return (truth["tasks"][task]["id"], truth["lines"][tag])


def expected_locks(truth):
    """address -> (type, locked, count, value, holders, waiters), holders and waiters as sets of
    (tid, line)."""
    locks, lock, rlock = truth["locks"], truth["lock_types"]["lock"], truth["lock_types"]["rlock"]
    ring = locks["ring"]
    out = {
        locks["a"]: (lock, True, None, None, {site(truth, "two-ab", "two.ab_hold")},
                     {site(truth, "two-ba", "two.ba_wait")}),
        locks["b"]: (lock, True, None, None, {site(truth, "two-ba", "two.ba_hold")},
                     {site(truth, "two-ab", "two.ab_wait")}),
        locks["r"]: (rlock, True, 2, None, {site(truth, "rlock-twice", "rlock.hold")},
                     {site(truth, "rlock-waiter", "rlock.wait")}),
        locks["pr"]: (truth["lock_types"]["pyrlock"], True, 2, None, {site(truth, "pyrlock-twice", "rlock.hold")},
                      {site(truth, "pyrlock-waiter", "pyrlock.wait")}),
        locks["cond"]: ("Condition", None, None, None, set(), {site(truth, "cond-waiter", "cond.wait")}),
        locks["cond2"]: ("Condition", None, None, None, {site(truth, "cond-holder", "cond_lock.hold")}, set()),
        locks["cond2_lock"]: (rlock, True, 1, None, {site(truth, "cond-holder", "cond_lock.hold")},
                              {site(truth, "cond-contender", "cond_lock.wait")}),
        locks["plain"]: (lock, True, None, None, set(), {site(truth, "acquire-waiter", "acquire.wait")}),
        locks["timed"]: (lock, True, None, None, set(), {site(truth, "timed-waiter", "timed.wait")}),
        locks["sem"]: ("Semaphore", True, None, 0, {site(truth, "sem-holder", "sem.hold")},
                       {site(truth, "sem-waiter", "sem.wait")}),
    }
    for i in range(3):
        out[ring[i]] = (lock, True, None, None, {site(truth, "three-%d" % i, "three.hold")},
                        {site(truth, "three-%d" % ((i - 1) % 3), "three.wait")})
    alocks = truth["alocks"]
    out[alocks["a"]] = ("asyncio.Lock", True, None, None, {task_site(truth, "ab", "atwo.ab_hold")},
                        {task_site(truth, "ba", "atwo.ba_wait")})
    out[alocks["b"]] = ("asyncio.Lock", True, None, None, {task_site(truth, "ba", "atwo.ba_hold")},
                        {task_site(truth, "ab", "atwo.ab_wait")})
    out[alocks["held"]] = ("asyncio.Lock", True, None, None, {task_site(truth, "holder", "alock.hold")},
                           {task_site(truth, "waiter", "alock.wait")})
    out[alocks["never"]] = ("asyncio.Event", True, None, None, set(),
                            {task_site(truth, "holder", "alock.park"), task_site(truth, "main", "amain.wait")})
    # Each crowd task holds the semaphore twice: one holder, at its outer `async with`.
    out[alocks["crowd"]] = ("asyncio.Semaphore", True, None, 0,
                            {(task, truth["lines"]["crowd.hold"]) for task in truth["crowd"]}, set())
    # More waiters than the tool reads: still listed, with its holder; who waits is unknown.
    out[alocks["busy"]] = ("asyncio.Lock", True, None, None, {task_site(truth, "busy_holder", "busy.hold")}, set())
    return out


def party(entry):
    return entry["task"] if "task" in entry else entry.get("tid")


def sites(entries):
    return {(party(e), e.get("line")) for e in entries}


def normalised_cycle(members):
    """The cycle from its member with the lowest tid (the order kept: a rotation only)."""
    start = min(range(len(members)), key=lambda i: members[i][0])
    return tuple(members[start:] + members[:start])


def expected_cycles(truth):
    locks, ring = truth["locks"], truth["locks"]["ring"]
    line = truth["lines"]
    tid = lambda name: truth["threads"][name]["tid"]  # noqa: E731
    two = [(tid("two-ab"), locks["a"], locks["b"], line["two.ab_hold"], line["two.ab_wait"]),
           (tid("two-ba"), locks["b"], locks["a"], line["two.ba_hold"], line["two.ba_wait"])]
    # three-i holds ring[i] and waits for ring[i+1], which three-(i+1) holds.
    three = [(tid("three-%d" % i), ring[i], ring[(i + 1) % 3], line["three.hold"], line["three.wait"]) for i in range(3)]
    alocks, task = truth["alocks"], lambda name: truth["tasks"][name]["id"]  # noqa: E731
    tasks = [(task("ab"), alocks["a"], alocks["b"], line["atwo.ab_hold"], line["atwo.ab_wait"]),
             (task("ba"), alocks["b"], alocks["a"], line["atwo.ba_hold"], line["atwo.ba_wait"])]
    return {normalised_cycle(two), normalised_cycle(three), normalised_cycle(tasks)}


@ROWS
def test_deadlocks_are_the_three_cycles(locks_json, truth):
    found = set()
    for cycle in locks_json["deadlocks"]:
        members = [(party(m), m["holds"], m["waits_for"], m["holds_line"], m["waits_line"]) for m in cycle]
        for i, member in enumerate(members):  # each waits for what the next holds
            assert member[2] == members[(i + 1) % len(members)][1], cycle
        found.add(normalised_cycle(members))
    assert len(locks_json["deadlocks"]) == 3
    assert found == expected_cycles(truth)
    for cycle in locks_json["deadlocks"]:
        for m in cycle:
            assert m["holds_filename"] == truth["file"] and m["waits_filename"] == truth["file"]


@ROWS
def test_holders_and_waiters(locks_json, truth):
    expected = expected_locks(truth)
    listed = {entry["address"]: entry for entry in locks_json["locks"]}
    assert len(listed) == len(locks_json["locks"]), "a lock listed twice"
    assert set(listed) == set(expected), {a: listed[a]["type"] for a in set(listed) ^ set(expected) if a in listed}
    for address, (type_name, locked, count, value, holders, waiters) in expected.items():
        entry = listed[address]
        assert entry["type"] == type_name, entry
        if locked is not None:
            assert entry["locked"] is locked, entry
        if count is not None:
            assert entry["count"] == count, entry
        if value is not None:
            assert entry["value"] == value, entry
        assert sites(entry["holders"]) == holders, entry
        assert sites(entry["waiters"]) == waiters, entry
        assert entry["holder"] == (entry["holders"][0] if len(holders) == 1 else None)
        for s in entry["holders"] + entry["waiters"]:
            assert s["filename"] == truth["file"], s
    locks = truth["locks"]
    assert listed[locks["cond"]]["lock"] == locks["cond_lock"]
    assert listed[locks["cond2"]]["lock"] == locks["cond2_lock"]
    assert listed[locks["sem"]]["lock"] == locks["sem_cond"]


@ROWS
def test_no_unidentified_waits_and_schema(locks_json, schema):
    assert locks_json["unidentified_waits"] == []
    assert "tasks" not in locks_json  # read for the locks, shown only with --tasks
    jsonschema.Draft202012Validator(schema).validate(locks_json)


@ROWS
def test_text_names_the_cycles_and_holders(run_locks, truth):
    result = run_locks()
    assert result.returncode == 0, describe(result)
    text = result.stdout
    threads = truth["threads"]
    deadlocks = [block for block in text.split("\n\n") if block.startswith("Deadlock: ")]
    assert sorted(block.splitlines()[0] for block in deadlocks) == ["Deadlock: 2 tasks", "Deadlock: 2 threads",
                                                                    "Deadlock: 3 threads"]
    two = next(block for block in deadlocks if block.startswith("Deadlock: 2"))
    line = truth["lines"]
    assert ('thread %d "two-ab" holds lock %#x' % (threads["two-ab"]["tid"], truth["locks"]["a"])) in two
    assert ("and waits for lock %#x (with b:" % truth["locks"]["b"]) in two
    tasks = next(block for block in deadlocks if block.startswith("Deadlock: 2 tasks"))
    assert ("task %#x '%s' holds asyncio.Lock %#x" % (truth["tasks"]["ab"]["id"], truth["tasks"]["ab"]["name"],
                                                     truth["alocks"]["a"])) in tasks
    assert ("locks.py:%d" % line["two.ab_wait"]) in two and ("locks.py:%d" % line["two.ba_hold"]) in two
    locks = text[text.index("\nLocks:\n"):]
    assert ('held by thread %d "rlock-twice"' % threads["rlock-twice"]["tid"]) in locks
    assert ("count 2") in locks
    assert ("held by an unknown owner; waiting for it: thread %d" % threads["acquire-waiter"]["tid"]) in locks
    assert "asyncio.Event %#x (not set); waiting on it: " % truth["alocks"]["never"] in locks


@ROWS
def test_contexts_say_their_locks_state(locks_json, run_locks, truth):
    """A context whose manager is a lock says its state, as the object records it (an RLock its
    owner and count), in JSON and in the tree's context comment."""
    threads = {t["tid"]: t for t in locks_json["threads"]}
    tid = truth["threads"]["rlock-twice"]["tid"]
    held = 'held by thread %d "rlock-twice", count 2' % tid
    contexts = [c for f in threads[tid]["frames"] for c in f["contexts"]]
    assert [(c["address"], c["start_line"], c.get("lock_state")) for c in contexts] == [
        (truth["locks"]["r"], truth["lines"]["rlock.hold"], held),
        (truth["locks"]["r"], truth["lines"]["rlock.hold_again"], held)]
    ab = threads[truth["threads"]["two-ab"]["tid"]]
    assert [c.get("lock_state") for f in ab["frames"] for c in f["contexts"]] == ["locked"]
    sem = threads[truth["threads"]["sem-holder"]["tid"]]
    assert [c.get("lock_state") for f in sem["frames"] for c in f["contexts"]] == ["value 0"]
    result = run_locks()
    assert ("# r: RLock (line %d) [%s]" % (truth["lines"]["rlock.hold"], held)) in result.stdout
    with_tasks = run_locks("--tasks", "--format", "json")
    assert with_tasks.returncode == 0, describe(with_tasks)
    busy_holder = next(t for t in json.loads(with_tasks.stdout)["tasks"]
                       if t["id"] == truth["tasks"]["busy_holder"]["id"])
    assert [(c["start_line"], c.get("lock_state")) for f in busy_holder["frames"] for c in f["contexts"]] == [
        (truth["lines"]["busy.hold"], "locked (its waiters unreadable)")]
