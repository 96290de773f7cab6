"""Every asyncio task and who awaits whom (`--tasks`, issue 16), against the truth that
scenarios/asyncio_tasks.py records in-process (see its docstring for the loops, the tasks and
how the truth is made), on every interpreter, live and from a core; under uvloop with
/usr/bin/python3 (Debian's python3-uvloop); and on 3.14+ against `python3.1X -m asyncio ps`.

One scenario process and one core per interpreter x variant; the tool runs once per target and
output (`--tasks --format json`, `--tasks`).

JSON, per task: the set of tasks (id, name, state, loop), `awaited_by` as sets of ids, `frames`
as (function, line) outermost first, `loop_thread`, `running` (its coroutine is executing on its
loop's thread), `description` (the Task's repr without `wait_for=` and `cb=`), `error` null; per
thread, `running_task`; `tasks_error` null; the document valid against docs/schema-v1.json.

Tree text, checked by structure (never against the tool's own output): one `Event loop` header
per loop (its thread, or `not running`, and its number of tasks), each root task's
`stackscope.Stack of <Task ...>` header once in its loop's section, each awaited task's
`├── <Task ...>` line once in full nested (by indentation) under its lowest-id awaiter's stack
and once as `(shown under 'NAME')` under each other awaiter's; a thread header names its loop's
running task.

`asyncio ps` (3.14, 3.15, their -dbg builds; run with the scenario's own interpreter binary):
for every task it lists, the tool's awaiters among the tasks it lists and the tool's function
chain equal its row(s). It lists neither pure-Python tasks (they are not in the runtime's task
lists) nor, on 3.14, the tasks of threads other than the main one; for a running task it shows
the chain down to the running coroutine only, so there its chain must be a prefix of the
tool's. It cannot run: a failure, not a skip.
"""
import json
import os
import re
import subprocess

import jsonschema
import pytest

from harness import ScenarioCache, clean_env, describe, run_once_on, run_tool, wait_until_all_sleeping, \
    without_process_header
from interpreters import INTERPRETERS

SCRIPT = "asyncio_tasks.py"
VARIANT_ENV = "STACKSCOPE_TASKS_VARIANT"
SYSTEM_PYTHON = "/usr/bin/python3"  # uvloop: Debian's python3-uvloop is for this interpreter only
ORACLE_VERSION = (3, 14)
TASKS_JSON = ("--tasks", "--format", "json")
TASKS_TREE = ("--tasks",)


def is_system_python(interp):
    return interp.path is not None and os.path.realpath(interp.path) == os.path.realpath(SYSTEM_PYTHON)


def variants_of(interp):
    return ["plain", "uvloop"] if is_system_python(interp) else ["plain"]


def rows(with_mode=True, wanted=lambda interp, variant: True):
    params = []
    for interp in INTERPRETERS:
        for variant in variants_of(interp):
            if not wanted(interp, variant):
                continue
            for mode in (["live", "core"] if with_mode else [None]):
                values = (interp, variant, mode) if with_mode else (interp, variant)
                ident = "-".join(v for v in (interp.label, variant, mode) if v)
                params.append(pytest.param(*values, id=ident, marks=pytest.mark.xdist_group(interp.label)))
    return params


def oracle_version(interp, variant):
    return interp.version >= ORACLE_VERSION and variant == "plain"


ROWS = pytest.mark.parametrize("interp,variant,mode", rows(), indirect=["interp"], scope="session")
TRUTH_ROWS = pytest.mark.parametrize("interp,variant", rows(with_mode=False), indirect=["interp"], scope="session")
ORACLE_ROWS = pytest.mark.parametrize("interp,variant,mode", rows(wanted=oracle_version), indirect=["interp"],
                                      scope="session")
ORACLE_TRUTH_ROWS = pytest.mark.parametrize("interp,variant", rows(with_mode=False, wanted=oracle_version),
                                            indirect=["interp"], scope="session")

# --- what the scenario builds, independently of the truth it writes ------------------------------
# Checked against the truth, so that a scenario that stops doing what it claims fails there.

PURE_PYTHON = {"py-awaits-c", "py-awaited-by-c", "b-py-parent", "b-py-auto"}
SLEEPER = ["sleeper", "*"]
CHAINS = {  # role -> its frames' AT tags, outermost first ("*": one or more standard-library frames)
    "a-main-auto": ["a_main", "loop_main"],
    "await-child": ["await_child", "deeper", "deepest", "*"],
    "await-parent": ["await_task"],
    "gather-task": SLEEPER, "gather-1-auto": SLEEPER, "gather-2-auto": SLEEPER,
    "gatherer": ["gatherer"],
    "gathered-twice": SLEEPER, "gathers-twice": ["gathers_twice"],
    "shielded": SLEEPER, "shielder": ["shielder"],
    "gather-shielded": SLEEPER, "gathers-shield": ["gathers_shield"],
    "shield-gathered-1": SLEEPER, "shield-gathered-2": SLEEPER, "shields-gather": ["shields_gather"],
    "waited-for": SLEEPER, "waits-for": ["waits_for", "*"],
    "shared": SLEEPER, "shared-waiter-1": ["shared_waiter"], "shared-waiter-2": ["shared_waiter"],
    "cancel-uncancellable": ["uncancellable"],
    "cancel-stubborn": ["stubborn_after_cancel", "*"],
    "c-awaited-by-py": ["await_child", "deeper", "deepest", "*"],
    "py-awaits-c": ["await_task"],
    "py-awaited-by-c": ["deeper", "deepest", "*"],
    "c-awaits-py": ["await_task"],
    "tg-outer": ["tg_outer", "*"], "tg-middle": ["tg_middle_body", "*"],
    "tg-leaf-a": SLEEPER, "tg-leaf-b": SLEEPER,
    "b-main-auto": ["b_main", "loop_main"],
    "b-child": ["deeper", "deepest", "*"],
    "b-py-parent": ["await_task"],
    "b-py-auto": SLEEPER,
    "blocker": ["blocking_step", "block_in_thread"],
    "eager-blocker": ["blocking_step", "block_in_thread"],
    "eager-sleeper": SLEEPER,
    "idle-child": ["deeper", "deepest", "*"],
    "idle-parent": ["await_task"],
}
AWAITERS = {  # role -> the roles of the tasks awaiting it
    "await-child": {"await-parent"},
    "gather-task": {"gatherer"}, "gather-1-auto": {"gatherer"}, "gather-2-auto": {"gatherer"},
    "gathered-twice": {"gathers-twice"},
    "shielded": {"shielder"},
    "gather-shielded": {"gathers-shield"},
    "shield-gathered-1": {"shields-gather"}, "shield-gathered-2": {"shields-gather"},
    "waited-for": {"waits-for"},
    "shared": {"shared-waiter-1", "shared-waiter-2"},
    "c-awaited-by-py": {"py-awaits-c"},
    "py-awaited-by-c": {"c-awaits-py"},
    "tg-middle": {"tg-outer"}, "tg-leaf-a": {"tg-outer"}, "tg-leaf-b": {"tg-middle"},
    "b-child": {"b-py-parent"},
    "blocker": {"c-main-auto"},
    "idle-child": {"idle-parent"},
}
TASKGROUP_ROLES = {"tg-outer", "tg-middle", "tg-leaf-a", "tg-leaf-b"}
EAGER_ROLES = {"eager-sleeper", "eager-blocker"}
LOOP_ROLES = {"a": (["a-main-auto", "await-child", "await-parent", "gather-task", "gather-1-auto", "gather-2-auto",
                     "gatherer", "gathered-twice", "gathers-twice", "shielded", "shielder",
                     "gather-shielded", "gathers-shield", "shield-gathered-1", "shield-gathered-2", "shields-gather",
                     "waited-for", "waits-for", "shared", "shared-waiter-1", "shared-waiter-2",
                     "cancel-uncancellable", "cancel-stubborn", "c-awaited-by-py", "py-awaits-c", "py-awaited-by-c",
                     "c-awaits-py"] + sorted(TASKGROUP_ROLES)),
              "b": ["b-main-auto", "b-child", "b-py-parent", "b-py-auto"],
              "c": ["c-main-auto", "blocker"] + sorted(EAGER_ROLES),
              "d": ["idle-child", "idle-parent"]}
LOOP_THREAD_NAMES = {"a": "MainThread", "b": "loop-b", "c": "loop-running"}  # "d" is not running


def eager(interp, variant):
    return interp.version >= (3, 12) and variant == "plain"


def expected_roles(interp, variant):
    roles = {role for group in LOOP_ROLES.values() for role in group}
    if interp.version < (3, 11):
        roles -= TASKGROUP_ROLES
    return roles - ({"blocker"} if eager(interp, variant) else EAGER_ROLES)


def expected_chain(role, interp, variant):
    if role == "c-main-auto":
        return ["c_main_eager"] if eager(interp, variant) else ["c_main"]
    return CHAINS[role]


# --- the scenario, its core, the tool's runs ------------------------------------------------


def import_error(python, module):
    """Why `python` cannot import `module` (None when it can)."""
    check = subprocess.run([str(python), "-c", "import " + module], env=clean_env(), capture_output=True, text=True,
                           timeout=60)
    if check.returncode == 0:
        return None
    return (check.stderr.strip().splitlines() or ["exit %d" % check.returncode])[-1]


class TasksScenarioCache(ScenarioCache):
    """The scenario processes of the interpreter the worker is on, one per variant (uvloop only
    where it is installed), and `asyncio ps`'s output per process."""

    def __init__(self, tmp_path_factory):
        super().__init__(tmp_path_factory, "tasks", SCRIPT, env_for=lambda variant: clean_env(**{VARIANT_ENV: variant}),
                         before_start=self.require_variant)
        self.oracles = {}
        self.missing = {}  # variant -> why it cannot run here (None: it can)

    def require_variant(self, python, variant):
        if variant != "uvloop":
            return
        if variant not in self.missing:
            self.missing[variant] = import_error(python, "uvloop")
        if self.missing[variant]:
            pytest.skip("!!! UVLOOP MISSING for %s: install Debian's python3-uvloop (scripts/install-deps.sh): "
                        "%s" % (python, self.missing[variant]))

    def oracle(self, python, variant):
        """`python -m asyncio ps PID` of the scenario, once."""
        if variant not in self.oracles:
            process = self.scenarios[variant]
            wait_until_all_sleeping(process.pid)
            self.oracles[variant] = subprocess.run([str(python), "-m", "asyncio", "ps", str(process.pid)],
                                                   env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True,
                                                   text=True, timeout=120)
        return self.oracles[variant]

    def close(self):
        super().close()
        self.oracles, self.missing = {}, {}


@pytest.fixture(scope="session")
def scenario_cache(tmp_path_factory):
    cache = TasksScenarioCache(tmp_path_factory)
    yield cache
    cache.close()


@pytest.fixture
def tasks_scenario(scenario_cache, python, interp, variant):
    return scenario_cache.scenario(python, interp, variant)


@pytest.fixture
def truth(tasks_scenario):
    return tasks_scenario.truth


@pytest.fixture
def target(mode, tasks_scenario, python, scenario_cache, variant):
    if mode == "live":
        return ["pid", tasks_scenario.pid]
    return ["core", scenario_cache.core(variant), "--executable", python]


@pytest.fixture
def run(tool, tool_runs, target):
    """run(*options): the tool's stdout; a partial result (exit 1) too, so that the tests show
    what it got right and wrong (test_exit_status fails on it)."""

    def run_once(*options):
        result = run_once_on(tool, tool_runs, target, (), options)
        assert result.returncode in (0, 1) and result.stdout, describe(result)
        return result.stdout

    return run_once


@pytest.fixture
def document(run):
    """The tool's JSON with --tasks."""
    return json.loads(run(*TASKS_JSON))


@ROWS
def test_exit_status(tool, tool_runs, target):
    """Everything is read: exit 0, nothing on stderr, with either output."""
    for options in (TASKS_JSON, TASKS_TREE):
        result = run_once_on(tool, tool_runs, target, (), options)
        assert (result.returncode, result.stderr) == (0, ""), (options, result.stderr[-3000:])


@ROWS
def test_sanitizers_clean(asan_tool, target, schema, mode):
    """The ASan/UBSan build reads every task without a report: JSON live, the tree from cores."""
    from test_asan import REPORT_MARKERS, SANITIZER_ENV
    options = list(TASKS_JSON if mode == "live" else TASKS_TREE)
    result = run_tool(asan_tool, [str(a) for a in target] + options, env=clean_env(**SANITIZER_ENV), timeout=180)
    assert result.returncode == 0, describe(result)
    assert not [m for m in REPORT_MARKERS if m in result.stderr], describe(result)
    if mode == "live":
        jsonschema.Draft202012Validator(schema).validate(json.loads(result.stdout))


@pytest.fixture
def tool_tasks(document, truth):
    """{id: the tool's task}; every task once."""
    tasks = document.get("tasks")
    assert isinstance(tasks, list), "no `tasks` list in the JSON: %r" % sorted(document)
    by_id = {t.get("id"): t for t in tasks}
    assert len(by_id) == len(tasks), "a task listed twice: %r" % sorted(t.get("id") for t in tasks)
    return by_id


def role_names(truth):
    """{id: role} of the truth's tasks (for messages)."""
    return {t["id"]: t["role"] for t in truth["tasks"]}


def by_role(truth):
    return {t["role"]: t for t in truth["tasks"]}


def labelled(mapping, truth):
    """A {task id: value} mapping keyed by role (id when the truth has no such task)."""
    roles = role_names(truth)
    return {roles.get(key, hex(key) if isinstance(key, int) else key): value for key, value in mapping.items()}


def chain_tags(frames, scenario_file):
    """A task's frames as AT tags, standard-library runs collapsed into one "*"."""
    tags = []
    for frame in frames:
        tag = frame["tag"] if frame["filename"] == scenario_file else "*"
        if tag == "*" and tags and tags[-1] == "*":
            continue
        tags.append(tag or "<untagged line %d>" % frame["line"])
    return tags


# --- the scenario itself ------------------------------------------------------------------------


@TRUTH_ROWS
def test_truth_is_what_the_scenario_claims(truth, interp, variant):
    """The tasks, their awaiters, chains, states, classes and running tasks are what the scenario
    builds; the loops are uvloop's in the uvloop variant."""
    tasks = by_role(truth)
    assert set(tasks) == expected_roles(interp, variant)
    ids = {role: t["id"] for role, t in tasks.items()}
    assert {role: {r for r in tasks if tasks[r]["id"] in t["awaited_by"]} for role, t in tasks.items()} == {
        role: AWAITERS.get(role, set()) & set(tasks) for role in tasks}
    assert {role: chain_tags(t["frames"], truth["scenario_file"]) for role, t in tasks.items()} == {
        role: expected_chain(role, interp, variant) for role in tasks}
    cancelling = {"cancel-uncancellable"} | ({"cancel-stubborn"} if interp.version >= (3, 11) else set())
    assert {role for role, t in tasks.items() if t["state"] == "cancelling"} == cancelling
    assert {role for role, t in tasks.items() if t["state"] not in ("pending", "cancelling")} == set()
    running = {"eager-blocker", "c-main-auto"} if eager(interp, variant) else {"blocker"}
    assert {role for role, t in tasks.items() if t["running"]} == running
    assert {role for role, t in tasks.items() if t["pure_python"]} == PURE_PYTHON
    loops = {loop["role"]: loop for loop in truth["loops"]}
    assert {role: (loop["running"], loop["thread_tid"] is None) for role, loop in loops.items()} == {
        "a": (True, False), "b": (True, False), "c": (True, False), "d": (False, True)}
    assert {role: loops[t["loop_role"]]["id"] == t["loop"] for role, t in tasks.items()} == {r: True for r in tasks}
    assert {role for role, t in tasks.items() if t["loop_role"] == "a"} == set(LOOP_ROLES["a"]) & set(tasks)
    threads = {t["name"]: t for t in truth["threads"]}
    assert sorted(threads) == sorted(LOOP_THREAD_NAMES.values())
    for role, name in LOOP_THREAD_NAMES.items():
        assert threads[name]["loop"] == loops[role]["id"] and threads[name]["loop_running"]
        assert threads[name]["tid"] == loops[role]["thread_tid"]
    blocker = "eager-blocker" if eager(interp, variant) else "blocker"
    assert {name: t["running_task"] for name, t in threads.items()} == {
        "MainThread": None, "loop-b": None, "loop-running": ids[blocker]}
    loop_types = {loop["type"] for loop in truth["loops"]}
    assert loop_types == ({"uvloop.Loop"} if variant == "uvloop" else {"asyncio.unix_events._UnixSelectorEventLoop"})
    for role, t in tasks.items():  # explicit names, but the automatic ones (and the eager task's before 3.14)
        if role.endswith("-auto") or (role == "eager-blocker" and interp.version < (3, 14)):
            assert re.fullmatch(r"Task-\d+", t["name"]), (role, t["name"])
        else:
            assert t["name"] == role
    assert [t["name"] for t in truth["tasks"] if " " in t["name"]] == []  # `asyncio ps` splits on spaces
    keys = [(t["loop"],) + task_key(t["description"]) for t in truth["tasks"]]
    assert len(set(keys)) == len(keys), "the tree test tells tasks apart by loop, name and coroutine"
    assert (tasks["b-py-auto"]["name"], tasks["b-main-auto"]["name"]) == ("Task-1", "Task-1"), \
        "the pure-Python Task counts its names apart: two Task-1 in loop b"


@TRUTH_ROWS
def test_runtime_premises(truth, interp, variant):
    """What the interpreter itself says, where it says it: 3.12/3.13 keep the blocked eager task
    in _eager_tasks; 3.14+ record the awaiters of C tasks awaiting C tasks (not those with a
    pure-Python task on either side), and their C all_tasks() misses the pure-Python tasks."""
    tasks = by_role(truth)
    premises = truth["premises"]
    if eager(interp, variant) and interp.version < (3, 14):
        assert premises["eager_tasks"] == ["eager-blocker"]
    if interp.version >= (3, 14):
        pure = {tasks[r]["id"] for r in PURE_PYTHON}
        expected = {role: [] if t["pure_python"] else sorted(set(t["awaited_by"]) - pure) for role, t in tasks.items()}
        assert {role: t["awaited_by_runtime"] for role, t in tasks.items()} == expected
        assert premises["missed_by_all_tasks"] == sorted(PURE_PYTHON)
    else:
        assert [t["awaited_by_runtime"] for t in truth["tasks"] if t["awaited_by_runtime"] is not None] == []


# --- JSON ---------------------------------------------------------------------------------------


@ROWS
def test_json_task_set(document, tool_tasks, truth):
    """Every task once: id, name, state, loop; no tasks_error, no task error."""
    expected = {t["id"]: (t["name"], t["state"], t["loop"]) for t in truth["tasks"]}
    got = {i: (t.get("name"), t.get("state"), t.get("loop")) for i, t in tool_tasks.items()}
    assert labelled(got, truth) == labelled(expected, truth)
    assert labelled({i: t.get("error") for i, t in tool_tasks.items() if t.get("error") is not None}, truth) == {}
    error = document.get("tasks_error")
    assert error is None, re.sub(r"0x[0-9a-f]+", lambda m: "%s (%s)" % (m.group(0), role_names(truth).get(
        int(m.group(0), 16), "?")), error)


@ROWS
def test_json_awaited_by(tool_tasks, truth):
    roles = role_names(truth)
    expected = {roles[t["id"]]: sorted(roles[a] for a in t["awaited_by"]) for t in truth["tasks"]}
    got = {roles.get(i, hex(i)): sorted(roles.get(a, hex(a)) for a in t.get("awaited_by") or []) for i, t in
           tool_tasks.items()}
    assert got == expected


@ROWS
def test_json_frames(tool_tasks, truth):
    """Each task's coroutine chain, outermost first, as (function, line)."""
    roles = role_names(truth)
    expected = {roles[t["id"]]: [(f["function"], f["line"]) for f in t["frames"]] for t in truth["tasks"]}
    got = {roles.get(i, hex(i)): [(f.get("function"), f.get("line")) for f in t.get("frames") or []]
           for i, t in tool_tasks.items()}
    assert got == expected


@ROWS
def test_json_loop_thread(tool_tasks, truth):
    """Each task's loop_thread: the native id of the thread running its loop."""
    loop_tids = {loop["id"]: loop["thread_tid"] for loop in truth["loops"]}
    expected = {t["id"]: loop_tids[t["loop"]] for t in truth["tasks"]}
    assert labelled({i: t.get("loop_thread") for i, t in tool_tasks.items()}, truth) == labelled(expected, truth)


@ROWS
def test_json_running_task_per_thread(document, truth):
    """Each thread's running_task: its loop's current task (null when none runs)."""
    expected = {t["tid"]: t["running_task"] for t in truth["threads"]}
    got = {t.get("tid"): t.get("running_task", "<absent>") for t in document["threads"]}
    assert {tid: got.get(tid, "<no thread>") for tid in expected} == expected


@ROWS
def test_json_running(tool_tasks, truth):
    """`running`: the task's coroutine is executing on its loop's thread (the blocked task; on
    3.12+ also the main task, inside the create_task that started the eager task)."""
    expected = {t["id"]: t["running"] for t in truth["tasks"]}
    assert labelled({i: t.get("running") for i, t in tool_tasks.items()}, truth) == labelled(expected, truth)


@ROWS
def test_json_descriptions(tool_tasks, truth):
    """`description`: the Task's repr as CPython prints it, without `wait_for=` and `cb=`."""
    expected = {t["id"]: t["description"] for t in truth["tasks"]}
    assert labelled({i: t.get("description") for i, t in tool_tasks.items()}, truth) == labelled(expected, truth)


@ROWS
def test_json_matches_schema(document, schema):
    jsonschema.Draft202012Validator(schema).validate(document)


# --- tree text ----------------------------------------------------------------------------------

LOOP_HEADER = re.compile(r"^Event loop (0x[0-9a-f]+) (?:on thread (\d+) \"(.*)\"|\(?not running\)?): (\d+) tasks?$")
ROOT_HEADER = re.compile(r"^stackscope\.Stack of (<.*>)(?:, running in thread \d+)? \(most recent call last\):$")
CHILD_LINE = re.compile(r"^(.*?)├── (<\w+ (?:pending|cancelling) name=.*>)(?: \(shown under '(.*)'\))?$")
NAME = re.compile(r"name='([^']*)'")
CORO = re.compile(r"coro=<([^(\s]+)\(")


def task_key(description):
    """(name, coroutine function) from a Task's repr: what tells this scenario's tasks apart
    within a loop (the pure-Python Task's automatic names repeat the C Task's)."""
    name, coro = NAME.search(description), CORO.search(description)
    return (name.group(1) if name else None, coro.group(1) if coro else None)


def loop_sections(text):
    """{loop id: (header match, [lines])} of the text after the threads."""
    sections = {}
    current = None
    for line in without_process_header(text).splitlines():
        if line.startswith("Event loop "):
            header = LOOP_HEADER.match(line)
            assert header, "unexpected loop header %r" % line
            current = int(header.group(1), 16)
            assert current not in sections, "loop %s twice" % header.group(1)
            sections[current] = (header, [])
        elif current is not None:
            sections[current][1].append(line)
    return sections


def task_lines(lines):
    """[(key, column, parent index, shown under)] per task line of a loop's section: a root's
    header (column -1) or a child's `├── <Task ...>` line (the column of its `├──`); the parent
    is the nearest line before it of a smaller column."""
    found = []
    for line in lines:
        root = ROOT_HEADER.match(line)
        child = CHILD_LINE.match(line) if not root else None
        if root:
            column, description, under = -1, root.group(1), None
        elif child:
            column, description, under = len(child.group(1)), child.group(2), child.group(3)
        else:
            continue
        parent = next((i for i in range(len(found) - 1, -1, -1) if found[i][1] < column), None)
        found.append((task_key(description), column, parent, under))
    return found


@pytest.fixture
def tree(run):
    return run(*TASKS_TREE)


@ROWS
def test_tree_loop_headers(tree, truth):
    """One header per loop: its thread (tid, name; none for the stopped loop) and its number of tasks."""
    sections = loop_sections(tree)
    threads = {t["tid"]: t["name"] for t in truth["threads"]}
    expected = {loop["id"]: (loop["thread_tid"], threads.get(loop["thread_tid"]),
                             sum(1 for t in truth["tasks"] if t["loop"] == loop["id"])) for loop in truth["loops"]}
    got = {loop: (int(h.group(2)) if h.group(2) else None, h.group(3), int(h.group(4))) for loop, (h, _) in
           sections.items()}
    assert got == expected


@ROWS
def test_tree_structure(tree, truth):
    """Roots once as headers; each awaited task once in full under its lowest-id awaiter and
    once `(shown under 'NAME')` under each other awaiter, nested by indentation."""
    by_id = {t["id"]: t for t in truth["tasks"]}
    key = {i: task_key(t["description"]) for i, t in by_id.items()}
    sections = loop_sections(tree)
    for loop in truth["loops"]:
        assert loop["id"] in sections, "no section for loop %x (%s)" % (loop["id"], loop["role"])
        lines = task_lines(sections[loop["id"]][1])
        got = sorted((k, lines[p][0] if p is not None else None, under) for k, _, p, under in lines)
        expected = []
        for task in (t for t in truth["tasks"] if t["loop"] == loop["id"]):
            if not task["awaited_by"]:
                expected.append((key[task["id"]], None, None))
                continue
            first = min(task["awaited_by"])
            expected.append((key[task["id"]], key[first], None))
            expected += [(key[task["id"]], key[a], by_id[first]["name"]) for a in task["awaited_by"] if a != first]
        assert got == sorted(expected), "loop %s" % loop["role"]


@ROWS
def test_tree_thread_headers(tree, truth):
    """A thread's header names its loop's running task, and only then."""
    names = {t["id"]: t["name"] for t in truth["tasks"]}
    headers = {}
    for line in without_process_header(tree).splitlines():
        match = re.match(r"^Thread (\d+) ", line)
        if match:
            headers[int(match.group(1))] = line
    got = {t["tid"]: re.findall(r"\(running task '([^']*)'\)", headers.get(t["tid"], "")) for t in truth["threads"]}
    expected = {t["tid"]: [names[t["running_task"]]] if t["running_task"] else [] for t in truth["threads"]}
    assert got == expected


# --- python3.1X -m asyncio ps -------------------------------------------------------------------


def parse_asyncio_ps(text):
    """[{tid, id, name, stack (outermost first), awaiter id (None when none)}] of its table:
    `tid  task-id  name  f -> g  [h -> i]  [awaiter-name]  awaiter-id` (the names hold no spaces)."""
    lines = text.splitlines()
    assert len(lines) >= 2 and lines[0].split()[:2] == ["tid", "task"] and set(lines[1]) == {"-"}, text[:500]
    rows = []
    for line in lines[2:]:
        tokens = line.split()
        if not tokens:
            continue
        tid, task_id, name, rest = int(tokens[0]), int(tokens[1], 16), tokens[2], tokens[3:]
        awaiter = int(rest[-1], 16)
        body = rest[:-1] if awaiter == 0 else rest[:-2]
        groups = []
        for i, token in enumerate(body):
            if token == "->":
                continue
            if i == 0 or body[i - 1] != "->":
                groups.append([])
            groups[-1].append(token)
        assert len(groups) == (1 if awaiter == 0 else 2), "cannot split %r" % line
        rows.append({"tid": tid, "id": task_id, "name": name, "stack": list(reversed(groups[0])),
                     "awaiter": awaiter or None})
    return rows


@pytest.fixture
def oracle_rows(scenario_cache, tasks_scenario, python, variant):
    result = scenario_cache.oracle(python, variant)
    if result.returncode != 0 or not result.stdout.startswith("tid"):
        pytest.fail("`%s -m asyncio ps` failed: %s" % (python, describe(result)))
    return parse_asyncio_ps(result.stdout)


@ORACLE_TRUTH_ROWS
def test_oracle_lists_the_tasks(oracle_rows, truth, interp):
    """A check of the oracle: it lists C tasks only, each on the thread that runs (or ran) its loop,
    with their names; every C task of the main thread's loops (3.14) or of every loop (3.15)."""
    by_id = {t["id"]: t for t in truth["tasks"]}
    loop_tids = {loop["id"]: loop["ran_on_tid"] for loop in truth["loops"]}
    main_tid = next(t["tid"] for t in truth["threads"] if t["name"] == "MainThread")
    listed = {row["id"] for row in oracle_rows}
    assert listed <= set(by_id), "asyncio ps lists tasks the truth does not have"
    assert sorted(by_id[i]["role"] for i in listed if by_id[i]["pure_python"]) == []
    assert {row["id"]: (row["tid"], row["name"]) for row in oracle_rows} == {
        i: (loop_tids[by_id[i]["loop"]], by_id[i]["name"]) for i in listed}
    covered = [loop["id"] for loop in truth["loops"] if loop["ran_on_tid"] == main_tid or interp.version >= (3, 15)]
    assert sorted(by_id[i]["role"] for i in listed) == sorted(
        t["role"] for t in truth["tasks"] if t["loop"] in covered and not t["pure_python"])


@ORACLE_ROWS
def test_awaited_by_matches_asyncio_ps(oracle_rows, tool_tasks, truth):
    """For each task asyncio ps lists: the tool's awaiters among the listed tasks are its awaiters."""
    roles = role_names(truth)
    listed = {row["id"] for row in oracle_rows}
    expected = {i: sorted(roles.get(row["awaiter"], hex(row["awaiter"])) for row in oracle_rows
                          if row["id"] == i and row["awaiter"]) for i in listed}
    got = {i: sorted(roles.get(a, hex(a)) for a in (tool_tasks.get(i) or {}).get("awaited_by") or [] if a in listed)
           for i in listed}
    assert labelled(got, truth) == labelled(expected, truth)


@ORACLE_ROWS
def test_chains_match_asyncio_ps(oracle_rows, tool_tasks, truth):
    """For each task asyncio ps lists: the tool's function chain is its coroutine stack (for a
    running task, asyncio ps's stops at the running coroutine: a prefix of the tool's)."""
    running = {t["id"] for t in truth["tasks"] if t["running"]}
    expected, got = {}, {}
    for row in oracle_rows:
        tool_chain = [f.get("function") for f in (tool_tasks.get(row["id"]) or {}).get("frames") or []]
        expected[row["id"]] = row["stack"]
        got[row["id"]] = tool_chain[:len(row["stack"])] if row["id"] in running else tool_chain
    assert labelled(got, truth) == labelled(expected, truth)
