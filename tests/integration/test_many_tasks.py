"""A long task list (`--tasks`), which a live read splits between two threads (TaskReader's second
worker, from TaskReader::kTasksForTwoWorkers tasks on) and a core read does not: the benchmark's
own workload, bench/w2_workload.py, with 60 TaskGroups x 9 sleeping leaves (601 tasks with the
main task), on each registry layout that has TaskGroup: the WeakSet (3.11), the scheduled and
eager sets (3.12), the runtime's linked lists (3.14).

Truth from the workload itself: it reports len(asyncio.all_tasks()), names its tasks `group-N`
and `leaf-N`, and each group's leaves hang under its parent task's `async with TaskGroup()`.
The live read (two threads) and the core read (one) of the same stopped process must list the
same tasks, in the same order, with the same stacks and awaiters."""
import json
import re
import signal
import subprocess

import pytest

from harness import REPO_ROOT, clean_env, describe, kill_group, make_core, run_tool, spawn_until_ready, wait_until_all_sleeping
from interpreters import INTERPRETERS, interpreter_params

GROUPS, LEAVES = 60, 9
WORKLOAD = REPO_ROOT / "bench" / "w2_workload.py"
LAYOUTS = {"3.11.7", "3.12.1", "3.14"}  # one interpreter per task-registry layout


def test_every_layout_names_an_interpreter():
    """A label renamed in interpreters.py must not drop its layout from the test below."""
    assert LAYOUTS <= {i.label for i in INTERPRETERS}


@pytest.mark.parametrize("interp", interpreter_params(lambda i: i.label in LAYOUTS), indirect=True)
def test_many_tasks_live_in_two_threads_equal_the_core(tool, interp, python, tmp_path):
    fifo = tmp_path / "ready.fifo"
    proc = spawn_until_ready([python, WORKLOAD, fifo, str(GROUPS), str(LEAVES)], fifo, timeout=60)
    try:
        wait_until_all_sleeping(proc.pid)  # the main task has written "ready": now it awaits its sleep
        live = run_tool(tool, ["--debug-reads", "pid", proc.pid, "--tasks", "--format", "json"], timeout=120)
        assert live.returncode == 0, describe(live)
        assert ", tasks read by 2 threads" in live.stderr, describe(live)
        core = make_core(proc.pid, tmp_path / "core")
    finally:
        kill_group(proc)
    try:
        from_core = run_tool(tool, ["--debug-reads", "core", core, "--executable", python, "--tasks", "--format",
                                    "json"], timeout=120)
        assert from_core.returncode == 0, describe(from_core)
        assert "tasks read by" not in from_core.stderr, describe(from_core)
    finally:
        core.unlink()
    tasks = json.loads(live.stdout)["tasks"]
    assert len(tasks) == 1 + GROUPS * (1 + LEAVES)
    by_id = {t["id"]: t for t in tasks}
    groups = [t for t in tasks if re.fullmatch(r"group-\d+", t["name"])]
    leaves = [t for t in tasks if re.fullmatch(r"leaf-\d+", t["name"])]
    assert len(groups) == GROUPS and len(leaves) == GROUPS * LEAVES
    assert all(t["awaited_by"] == [] and t["error"] is None for t in groups)
    for leaf in leaves:
        assert leaf["error"] is None and len(leaf["awaited_by"]) == 1, leaf
        assert by_id[leaf["awaited_by"][0]] in groups, leaf
        assert [f["function"] for f in leaf["frames"]] == ["leaf", "sleep"], leaf
    per_group = {}
    for leaf in leaves:
        per_group[leaf["awaited_by"][0]] = per_group.get(leaf["awaited_by"][0], 0) + 1
    assert sorted(per_group.values()) == [LEAVES] * GROUPS
    assert json.loads(from_core.stdout)["tasks"] == tasks


def scenario_tasks(tool, python, tmp_path, script, args, timeout):
    """The tasks `pid PID --tasks --format json` lists of a scenario once it is parked."""
    fifo = tmp_path / "ready.fifo"
    proc = spawn_until_ready([python, REPO_ROOT / "tests/integration/scenarios" / script, fifo] + [str(a) for a in args],
                             fifo, timeout=60)
    try:
        wait_until_all_sleeping(proc.pid)
        result = run_tool(tool, ["pid", proc.pid, "--tasks", "--format", "json"], timeout=timeout)
    finally:
        kill_group(proc)
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)["tasks"]


CHAIN = 10000


@pytest.mark.parametrize("interp", interpreter_params(lambda i: i.label == "3.12.1"), indirect=True)
def test_a_long_chain_of_tasks(tool, interp, python, tmp_path):
    """10,000 tasks, each awaiting the next: each leaf's repr nests the rest of the chain, which
    the tool cuts (16 Futures deep: reprlib's 80 characters show no more); at 585 deep, as it
    was, 2,000 such tasks took 5.7 s (10,000: about 30 s), and the run below would time out.
    Each task is awaited by the one before it."""
    tasks = scenario_tasks(tool, python, tmp_path, "task_chain.py", [CHAIN], timeout=15)
    by_name = {t["name"]: t for t in tasks}
    assert len(tasks) == CHAIN and len(by_name) == CHAIN
    for index in range(CHAIN):
        task = by_name["link-%d" % index]
        awaiter = [] if index == 0 else [by_name["link-%d" % (index - 1)]["id"]]
        assert task["awaited_by"] == awaiter and task["error"] is None, task
        if index < CHAIN - 1:
            assert task["leaf"]["repr"].startswith("<Task pending name='link-%d' coro=<" % (index + 1)), task



FAN_IN_WAITERS, FAN_IN_REPEATS, FAN_IN_DONE = 2000, 200000, 20000


@pytest.mark.parametrize("interp", interpreter_params(lambda i: i.label in LAYOUTS), indirect=True)
def test_many_tasks_awaiting_one(tool, interp, python, tmp_path):
    """2,000 tasks awaiting one gather that lists 20,000 finished tasks then one task 200,000
    times, and 2,000 tasks awaiting one task: each awaited task is awaited by each of them once.
    The gather was walked again for each waiter and each copy of its task kept, 4*10^8 edges
    (gigabytes); later, where the first reading cannot yet tell the pending tasks (3.12+), it was
    walked again up to its pending task for each waiter, until the walks' bound left the later
    waiters with an error; each new awaiter was compared with every one before it, 2*10^6
    comparisons for the shared task."""
    tasks = scenario_tasks(tool, python, tmp_path, "task_fan_in.py", [FAN_IN_WAITERS, FAN_IN_REPEATS, FAN_IN_DONE],
                           timeout=60)
    by_name = {t["name"]: t for t in tasks}
    # From 3.14 the runtime records who awaits whom, and gather() records the task that called
    # it as its children's awaiter (as `asyncio ps` shows them): main here.
    main = [t["id"] for t in tasks if t["frames"] and t["frames"][0]["function"] == "main"]
    for awaited, prefix in (("gathered", "waiter-"), ("shared", "caller-")):
        awaiters = [by_name["%s%d" % (prefix, i)]["id"] for i in range(FAN_IN_WAITERS)]
        awaiters = sorted(awaiters + (main if awaited == "gathered" and interp.version >= (3, 14) else []))
        assert sorted(by_name[awaited]["awaited_by"]) == awaiters, (awaited, len(by_name[awaited]["awaited_by"]))
        assert by_name[awaited]["error"] is None


# Roots: more than the text writes on one thread (kRootsForTwoThreads, 256); text: more than the
# 1 MiB the CLI widens its output pipe to, so that a reader gone early is met while writing.
STREAMED_GROUPS, STREAMED_LEAVES = 400, 6


@pytest.mark.parametrize("interp", interpreter_params(lambda i: i.label == "3.14"), indirect=True)
def test_long_text_written_as_it_is_made(tool, interp, python, tmp_path):
    """A long task list's text is written run by run while the two threads still write the rest
    (the CLI's sink): it must come out whole and in order, fail as any output does on a full
    device, and stop quietly when its reader goes away with SIGPIPE ignored. Truth: the workload's
    own tasks (each group's leaves under it), and the JSON of the same parked process, whose
    order of roots the text follows."""
    fifo = tmp_path / "ready.fifo"
    proc = spawn_until_ready([python, WORKLOAD, fifo, str(STREAMED_GROUPS), str(STREAMED_LEAVES)], fifo,
                             timeout=60)
    try:
        wait_until_all_sleeping(proc.pid)
        text = run_tool(tool, ["pid", proc.pid, "--tasks"], timeout=120)
        as_json = run_tool(tool, ["pid", proc.pid, "--tasks", "--format", "json"], timeout=120)
        with open("/dev/full", "w") as full:
            to_full = subprocess.run([str(tool), "pid", str(proc.pid), "--tasks"], env=clean_env(),
                                     stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, text=True,
                                     timeout=120)
        reader = subprocess.Popen([str(tool), "pid", str(proc.pid), "--tasks"], env=clean_env(),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN))
        first = reader.stdout.read(4096)
        reader.stdout.close()  # gone before the rest
        _, cut_short_stderr = reader.communicate(timeout=120)
    finally:
        kill_group(proc)
    assert text.returncode == 0 and as_json.returncode == 0, (describe(text), describe(as_json))
    roots = re.findall(r"^stackscope\.Stack of <Task pending name='([^']+)'", text.stdout, re.M)
    json_roots = [t["name"] for t in json.loads(as_json.stdout)["tasks"] if not t["awaited_by"]]
    assert roots == json_roots
    assert sorted(roots) == sorted(["group-%d" % i for i in range(STREAMED_GROUPS)] + ["Task-1"])
    assert len(text.stdout.encode()) > 1 << 20
    # Each group's text: its own frame, its TaskGroup, its leaves, then the next root.
    blocks = text.stdout.split("\nstackscope.Stack of ")[1:]
    assert len(blocks) == STREAMED_GROUPS + 1
    for block in blocks:
        if block.startswith("<Task pending name='group-"):
            for leaf in range(STREAMED_LEAVES):
                assert block.count("── <Task pending name='leaf-%d'" % leaf) == 1, block
            assert "╠ leaf in __main__" in block and "╚ <Future pending" in block, block
    assert text.stdout.endswith("\n") and "cannot write" not in text.stderr, describe(text)
    assert to_full.returncode == 7, (to_full.returncode, to_full.stderr)
    assert to_full.stderr.strip() == "stackscope: cannot write the output: No space left on device", to_full.stderr
    assert first.startswith(b"Thread ")
    assert reader.returncode == 0 and b"cannot write" not in cut_short_stderr, (reader.returncode, cut_short_stderr)
