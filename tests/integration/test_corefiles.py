"""The committed core fixtures (corefiles/): one per minor version 3.8-3.15 and one of the 3.14
debug build (Py_DEBUG), each read with
its binaries absent and relocated to this machine's copy, against the JSON the scenario
wrote about itself when it was dumped: its threads, its suspended objects read by address
with --object, and its asyncio tasks with --tasks."""
import json
import re

import pytest

from corefile_fixtures import FIXTURE_NAMES, available_fixtures, machine_secrets
from harness import describe, run_tool, stderr_is_one_line

FIXTURES = available_fixtures()
FRAME_FIELDS = ("function", "name", "module", "filename", "line", "hidden")
OBJECT_FRAME_FIELDS = ("name", "line", "filename")
TASK_FIELDS = ("name", "state", "loop", "running")
# Gaps of the task reader the fixtures show (issue 16), by (fixture, mode): each test fails
# until its gap is closed, and then, being strict, fails again until its entry is removed.
TASK_GAPS = {
}


def fixture_params(since=(3, 8)):
    return [pytest.param(f, f.interpreter, id=f.version, marks=pytest.mark.xdist_group(f.interpreter.label))
            for f in FIXTURES if f.interpreter.version >= since]


def task_params(mode, since=(3, 8)):
    """fixture_params for a tasks test in `mode`, a known gap (TASK_GAPS) marked strictly xfail."""
    return [pytest.param(f, f.interpreter, id=f.version, marks=[pytest.mark.xdist_group(f.interpreter.label)] + (
                [pytest.mark.xfail(strict=True, reason=TASK_GAPS[f.version, mode])] if (f.version, mode) in TASK_GAPS
                else []))
            for f in FIXTURES if f.interpreter.version >= since]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    cache = {}

    def unpack(fixture):
        if fixture.version not in cache:
            cache[fixture.version] = fixture.unpack(tmp_path_factory.mktemp("corefile-" + fixture.version))
        return cache[fixture.version]

    return unpack


def test_every_minor_version_and_the_debug_build_have_a_fixture():
    assert [f.version for f in FIXTURES] == FIXTURE_NAMES


def assert_matches_expected(snapshot, expected):
    assert snapshot["python_version"] == expected["python_version"]
    # Fixtures dumped before the scenario recorded its build are release builds (provenance.json).
    assert snapshot["debug_build"] == expected.get("debug_build", False)
    assert snapshot["pid"] == expected["pid"]
    by_tid = {t["tid"]: t for t in snapshot["threads"]}
    assert sorted(by_tid) == sorted(t["tid"] for t in expected["threads"])
    for want in expected["threads"]:
        got = by_tid[want["tid"]]
        assert got["error"] is None, got["error"]
        assert got["name"] == want["name"]
        frames = [{k: f[k] for k in FRAME_FIELDS} for f in got["frames"]]
        assert frames == want["frames"], "thread %s (%s)" % (want["tid"], want["name"])


def readable_objects(expected):
    return [o for o in expected["objects"] if not o["error_expected"]]


def object_args(objects):
    return [arg for o in objects for arg in ("--object", str(o["address"]))]


def unnamed_without_binaries(leaf):
    """A leaf as the core alone shows it when its type is a static type named only in the missing
    binary's .rodata (list_iterator; README: "shown as <type at 0x…>"): the same object, its type
    by address."""
    if not leaf or not re.fullmatch(r"<(.+) object at (0x[0-9a-f]+)>", leaf["repr"]):
        return leaf
    address = re.fullmatch(r"<(.+) object at (0x[0-9a-f]+)>", leaf["repr"]).group(2)
    return {"type": "<type at 0x…>", "repr": "<<type at 0x…> object at %s>" % address}


def assert_objects_match_expected(snapshot, expected, binaries_absent=False):
    """Every object the scenario kept, read by its id(), against the scenario's own account:
    type, state, frames (name, line, filename) outermost first, leaf, the thread it runs on."""
    wanted = readable_objects(expected)
    assert snapshot["pid"] == expected["pid"]
    assert snapshot["threads"] == []
    assert [o["address"] for o in snapshot["objects"]] == [o["address"] for o in wanted]
    for want, got in zip(wanted, snapshot["objects"]):
        label = "%s at %#x" % (want["label"], want["address"])
        assert got["error"] is None, "%s: %s" % (label, got["error"])
        assert (got["type"], got["state"]) == (want["type"], want["state"]), label
        frames = [tuple(f[k] for k in OBJECT_FRAME_FIELDS) for f in got["frames"]]
        assert frames == [tuple(f[k] for k in OBJECT_FRAME_FIELDS) for f in want["frames"]], label
        leaf = got["leaf"] and {"type": got["leaf"]["type"], "repr": got["leaf"]["repr"]}
        if binaries_absent and leaf and leaf["type"].startswith("<type at 0x"):
            leaf = {"type": "<type at 0x…>", "repr": re.sub(r"<type at 0x[0-9a-f]+>", "<type at 0x…>", leaf["repr"])}
            assert leaf == unnamed_without_binaries(want["leaf"]), label
        else:
            assert leaf == want["leaf"], label
        assert (got["thread"] or {}).get("tid") == want["thread_tid"], label


def assert_unreadable_objects_fail(tool, core, args, expected):
    """An object the tool must refuse (a dict): exit 1, an error, its type still named."""
    for want in [o for o in expected["objects"] if o["error_expected"]]:
        result = run_tool(tool, ["core", str(core), "--format", "json", "--object", str(want["address"])] + args)
        assert result.returncode == 1, describe(result)
        got = json.loads(result.stdout)["objects"]
        assert [(o["address"], o["type"]) for o in got] == [(want["address"], want["type"])], describe(result)
        assert got[0]["error"], describe(result)


def test_every_fixture_has_suspended_objects():
    for fixture in FIXTURES:
        labels = [o["label"] for o in fixture.expected.get("objects", [])]
        assert "yield-from-chain" in labels and "not-a-generator" in labels, fixture.version


def assert_tasks_match_expected(snapshot, expected):
    """Every pending task of the scenario's loop against the scenario's own account: the same
    ids; each task's name, state, loop, whether it runs, its loop's thread, its awaiters (as a
    set) and its coroutine chain (name, line) outermost first; the loop thread's running task."""
    want = expected["tasks"]
    assert snapshot["tasks_error"] is None, snapshot["tasks_error"]
    got = {t["id"]: t for t in snapshot["tasks"]}
    assert sorted(got) == sorted(t["id"] for t in want["tasks"]), \
        "tasks %s, expected %s" % (sorted(t["name"] for t in snapshot["tasks"]), sorted(t["name"] for t in want["tasks"]))
    for task in want["tasks"]:
        label = "task %r at %#x" % (task["name"], task["id"])
        read = got[task["id"]]
        assert read["error"] is None, "%s: %s" % (label, read["error"])
        assert {k: read[k] for k in TASK_FIELDS} == {k: task[k] for k in TASK_FIELDS}, label
        assert read["loop_thread"] == want["loop_thread"], label
        assert set(read["awaited_by"]) == set(task["awaited_by"]), label
        assert [(f["name"], f["line"]) for f in read["frames"]] == [(f["name"], f["line"]) for f in task["frames"]], label
    running = {t["tid"]: t["running_task"] for t in snapshot["threads"]}
    assert want["loop_thread"] in running, running
    assert running == {tid: (want["running_task"] if tid == want["loop_thread"] else None) for tid in running}


def test_every_fixture_has_tasks():
    for fixture in FIXTURES:
        names = [t["name"] for t in fixture.expected.get("tasks", {}).get("tasks", [])]
        assert "awaited" in names and "shielded" in names and "python-task" in names, fixture.version
        assert ("nested-child" in names) == (fixture.interpreter.version >= (3, 11)), fixture.version


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-relocated"])
def test_relocated_to_this_machines_interpreter(fixture, interp, mode, tool, unpacked):
    args, why_not = fixture.relocation_args()
    if args is None:
        pytest.skip("!!! %s: %s" % (fixture.version, why_not))
    core, _ = unpacked(fixture)
    result = run_tool(tool, ["core", str(core), "--format", "json"] + args)
    assert result.returncode == 0, describe(result)
    assert_matches_expected(json.loads(result.stdout), fixture.expected)


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-relocated"])
def test_objects_relocated_to_this_machines_interpreter(fixture, interp, mode, tool, unpacked):
    args, why_not = fixture.relocation_args()
    if args is None:
        pytest.skip("!!! %s: %s" % (fixture.version, why_not))
    core, _ = unpacked(fixture)
    objects = object_args(readable_objects(fixture.expected))
    result = run_tool(tool, ["core", str(core), "--format", "json"] + objects + args)
    assert result.returncode == 0, describe(result)
    assert_objects_match_expected(json.loads(result.stdout), fixture.expected)
    assert_unreadable_objects_fail(tool, core, args, fixture.expected)


@pytest.mark.parametrize("fixture, interp", task_params("fixture-relocated"))
@pytest.mark.parametrize("mode", ["fixture-relocated"])
def test_tasks_relocated_to_this_machines_interpreter(fixture, interp, mode, tool, unpacked):
    args, why_not = fixture.relocation_args()
    if args is None:
        pytest.skip("!!! %s: %s" % (fixture.version, why_not))
    core, _ = unpacked(fixture)
    result = run_tool(tool, ["core", str(core), "--tasks", "--format", "json"] + args)
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)
    assert_matches_expected(snapshot, fixture.expected)
    assert_tasks_match_expected(snapshot, fixture.expected)


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-absent"])
def test_binaries_absent(fixture, interp, mode, tool, unpacked):
    """3.13+ publish _Py_DebugOffsets: the core alone suffices. Older versions need the
    interpreter's files: the error names the missing one and the option that supplies it."""
    core, _ = unpacked(fixture)
    result = run_tool(tool, ["core", str(core), "--format", "json"])
    if interp.version >= (3, 13):
        assert result.returncode == 0, describe(result)
        assert_matches_expected(json.loads(result.stdout), fixture.expected)
    else:
        assert_names_a_missing_file(result, fixture)


def assert_names_a_missing_file(result, fixture):
    assert result.returncode != 0, describe(result)
    assert stderr_is_one_line(result), describe(result)
    assert "--lib-search-path" in result.stderr, describe(result)
    missing = [name for name in fixture.provenance["build_ids"] if "libc.so" not in name]
    assert any(name.rsplit("/", 1)[-1] in result.stderr for name in missing), describe(result)


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-absent"])
def test_objects_binaries_absent(fixture, interp, mode, tool, unpacked):
    """As for the threads: 3.13+ read every object from the core alone; older versions name
    the missing file and the option."""
    core, _ = unpacked(fixture)
    objects = object_args(readable_objects(fixture.expected))
    result = run_tool(tool, ["core", str(core), "--format", "json"] + objects)
    if interp.version >= (3, 13):
        assert result.returncode == 0, describe(result)
        assert_objects_match_expected(json.loads(result.stdout), fixture.expected, binaries_absent=True)
        assert_unreadable_objects_fail(tool, core, [], fixture.expected)
    else:
        assert_names_a_missing_file(result, fixture)


@pytest.mark.parametrize("fixture, interp", task_params("fixture-absent", since=(3, 13)))
@pytest.mark.parametrize("mode", ["fixture-absent"])
def test_tasks_binaries_absent(fixture, interp, mode, tool, unpacked):
    """3.13+ read every task from the core alone (3.14+ find _asyncio's .AsyncioDebug block in
    its writable data); older versions stop before the tasks, as test_binaries_absent shows."""
    core, _ = unpacked(fixture)
    result = run_tool(tool, ["core", str(core), "--tasks", "--format", "json"])
    assert result.returncode == 0, describe(result)
    assert_tasks_match_expected(json.loads(result.stdout), fixture.expected)


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-asan"])
def test_relocated_under_asan(fixture, interp, mode, asan_tool, unpacked):
    args, why_not = fixture.relocation_args()
    if args is None:
        pytest.skip("!!! %s: %s" % (fixture.version, why_not))
    core, _ = unpacked(fixture)
    result = run_tool(asan_tool, ["core", str(core), "--format", "json"] + args, timeout=180)
    assert result.returncode == 0, describe(result)
    assert_matches_expected(json.loads(result.stdout), fixture.expected)


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-asan"])
def test_objects_relocated_under_asan(fixture, interp, mode, asan_tool, unpacked):
    args, why_not = fixture.relocation_args()
    if args is None:
        pytest.skip("!!! %s: %s" % (fixture.version, why_not))
    core, _ = unpacked(fixture)
    objects = object_args(readable_objects(fixture.expected))
    result = run_tool(asan_tool, ["core", str(core), "--format", "json"] + objects + args, timeout=180)
    assert result.returncode == 0, describe(result)
    assert_objects_match_expected(json.loads(result.stdout), fixture.expected)


@pytest.mark.parametrize("fixture, interp", task_params("fixture-asan"))
@pytest.mark.parametrize("mode", ["fixture-asan"])
def test_tasks_relocated_under_asan(fixture, interp, mode, asan_tool, unpacked):
    args, why_not = fixture.relocation_args()
    if args is None:
        pytest.skip("!!! %s: %s" % (fixture.version, why_not))
    core, _ = unpacked(fixture)
    result = run_tool(asan_tool, ["core", str(core), "--tasks", "--format", "json"] + args, timeout=180)
    assert result.returncode == 0, describe(result)
    assert_tasks_match_expected(json.loads(result.stdout), fixture.expected)


@pytest.mark.parametrize("fixture, interp", fixture_params())
@pytest.mark.parametrize("mode", ["fixture-hygiene"])
def test_fixture_holds_nothing_of_the_machine_that_made_it(fixture, interp, mode, unpacked):
    core, extents = unpacked(fixture)
    needles = machine_secrets()
    overlap = max(len(n) for n in needles)
    with open(core, "rb") as data:
        for start, end in extents:
            data.seek(max(0, start - overlap))
            window = data.read(end - max(0, start - overlap))
            found = [n for n in needles if n in window]
            assert not found, "%s holds %r near offset %#x" % (core, found[:3], start)
    recorded = json.dumps(fixture.provenance) + json.dumps(fixture.expected)
    assert "/root/" not in recorded and "/home/" not in recorded
