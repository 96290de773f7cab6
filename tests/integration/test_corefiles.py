"""The committed core fixtures (corefiles/): one per minor version 3.8-3.15, each read with
its binaries absent and relocated to this machine's copy, against the JSON the scenario
wrote about itself when it was dumped."""
import json

import pytest

from corefile_fixtures import MINOR_VERSIONS, available_fixtures, machine_secrets
from harness import describe, run_tool, stderr_is_one_line

FIXTURES = available_fixtures()
FRAME_FIELDS = ("function", "name", "module", "filename", "line", "hidden")


def fixture_params():
    return [pytest.param(f, f.interpreter, id=f.version, marks=pytest.mark.xdist_group(f.interpreter.label))
            for f in FIXTURES]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    cache = {}

    def unpack(fixture):
        if fixture.version not in cache:
            cache[fixture.version] = fixture.unpack(tmp_path_factory.mktemp("corefile-" + fixture.version))
        return cache[fixture.version]

    return unpack


def test_every_minor_version_has_a_fixture():
    assert [f.version for f in FIXTURES] == MINOR_VERSIONS


def assert_matches_expected(snapshot, expected):
    assert snapshot["python_version"] == expected["python_version"]
    assert snapshot["pid"] == expected["pid"]
    by_tid = {t["tid"]: t for t in snapshot["threads"]}
    assert sorted(by_tid) == sorted(t["tid"] for t in expected["threads"])
    for want in expected["threads"]:
        got = by_tid[want["tid"]]
        assert got["error"] is None, got["error"]
        assert got["name"] == want["name"]
        frames = [{k: f[k] for k in FRAME_FIELDS} for f in got["frames"]]
        assert frames == want["frames"], "thread %s (%s)" % (want["tid"], want["name"])


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
        assert result.returncode != 0, describe(result)
        assert stderr_is_one_line(result), describe(result)
        assert "--lib-search-path" in result.stderr, describe(result)
        missing = [name for name in fixture.provenance["build_ids"] if "libc.so" not in name]
        assert any(name.rsplit("/", 1)[-1] in result.stderr for name in missing), describe(result)


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
