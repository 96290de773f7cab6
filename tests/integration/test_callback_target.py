"""The debugger-callback target, tested before any front-end uses it: callback_probe (a test
tool) wraps the live and core targets in a CallbackTarget whose callbacks forward to them."""
import json

import jsonschema
import pytest

from harness import clean_env, describe, run_tool
from test_asan import REPORT_MARKERS, SANITIZER_ENV

CALLBACK_MODES = ["callback-live", "callback-core"]
ASAN_MODES = ["asan-callback-live", "asan-callback-core"]


def probe_beside(binary):
    probe = binary.parent / "callback_probe"
    if not probe.is_file():
        pytest.skip("!!! CALLBACK PROBE MISSING: %s (built with the tests, beside the tool)" % probe)
    return probe


@pytest.fixture(scope="session")
def probe(tool):
    return probe_beside(tool)


@pytest.fixture(scope="session")
def asan_probe(asan_tool):
    return probe_beside(asan_tool)


@pytest.fixture
def run_probe(target_args, tmp_path):
    """Runs the probe on the scenario: (result, stats or None)."""

    def run(binary, *options, env=None):
        stats_path = tmp_path / ("stats-%d.json" % len(list(tmp_path.iterdir())))
        result = run_tool(binary, list(options) + ["--stats", stats_path] + list(target_args), env=env, timeout=120)
        stats = json.loads(stats_path.read_text()) if stats_path.exists() else None
        return result, stats

    return run


@pytest.fixture
def cli_json(tool, run_cached):
    """The CLI's JSON minus `process`: what a core's notes say about the process is the core
    target's own knowledge, which debugger callbacks do not carry."""
    result = run_cached(tool, "--format", "json")
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)
    snapshot.pop("process", None)
    return snapshot


@pytest.mark.parametrize("mode", CALLBACK_MODES)
@pytest.mark.parametrize("without", ["none", "regions"])
def test_equals_cli(probe, run_probe, cli_json, without):
    """All callbacks, and read + symbol lookup only (no regions): the CLI's output exactly."""
    result, _ = run_probe(probe, "--without", without)
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout) == cli_json


@pytest.mark.parametrize("mode", ["callback-live", "callback-core"])
def test_read_and_regions_only(probe, run_probe, cli_json, interp):
    """No symbols and no files: 3.13+ runtimes are found by their debug-offsets cookie."""
    result, _ = run_probe(probe, "--without", "symbols")
    if interp.version >= (3, 13):
        assert result.returncode == 0, describe(result)
        assert json.loads(result.stdout) == cli_json
    else:
        assert result.returncode == 3, describe(result)
        assert "no Python runtime found" in result.stderr


@pytest.mark.parametrize("mode", CALLBACK_MODES)
def test_page_cache(probe, run_probe, cli_json):
    """Each page reaches the callbacks about once, far fewer reads than the frames need."""
    result, stats = run_probe(probe)
    assert result.returncode == 0, describe(result)
    frames = sum(len(t["frames"]) for t in cli_json["threads"])
    assert frames > 100
    assert stats["callback_reads"] <= stats["pages_touched"], stats
    # An uncached reader makes at least 4 reads per frame (previous, code, instruction, globals).
    assert stats["requested_reads"] > 4 * frames, (stats, frames)
    # The cache answers nearly all of them: about 20 requests per page on every interpreter.
    # (Pages per frame vary with where objects fall and, since with-blocks are read, with
    # each code object's bytecode and tables: 1.4-2 on 3.11, too close to bound by frames.)
    assert stats["callback_reads"] * 8 < stats["requested_reads"], stats


def assert_well_formed_failure(result, schema, allowed=(0, 1, 3)):
    assert result.returncode in allowed, describe(result)
    assert "internal error" not in result.stderr, describe(result)
    if result.returncode in (0, 1):
        snapshot = json.loads(result.stdout)
        jsonschema.Draft202012Validator(schema).validate(snapshot)
        if result.returncode == 1:
            assert any(t["error"] for t in snapshot["threads"]), snapshot
        return snapshot
    assert result.stdout == "" and result.stderr.strip(), describe(result)
    return None


INJECTIONS = {
    "fail-every-7": ["--fail-every", "7"],
    "fail-every-40": ["--fail-every", "40"],
    "short-every-3": ["--short-every", "3", "--short-by", "5"],
    "short-every-2-by-4000": ["--short-every", "2", "--short-by", "4000"],
}


@pytest.mark.parametrize("mode", CALLBACK_MODES)
@pytest.mark.parametrize("injection", sorted(INJECTIONS))
def test_injected_failures(probe, run_probe, schema, injection):
    result, _ = run_probe(probe, *INJECTIONS[injection])
    assert_well_formed_failure(result, schema)


def fail_one_thread(binary, run_probe, env=None):
    """Fails reads of one thread's newest frame: that thread reports an error, exit 1."""
    clean, stats = run_probe(binary, env=env)
    assert clean.returncode == 0, describe(clean)
    victim = max(stats["threads"], key=lambda t: len(t["frames"]))
    newest = victim["frames"][-1]
    results = [("newest frame", run_probe(binary, "--fail-range", "%#x-%#x" % (newest, newest + 8), env=env)[0])]
    # Every read after most of a clean run's: discovery succeeded, the later threads fail.
    results.append(("late reads", run_probe(binary, "--fail-after", str(stats["callback_reads"] * 3 // 4), env=env)[0]))
    return victim, results


@pytest.mark.parametrize("mode", CALLBACK_MODES)
def test_failures_are_per_thread(probe, run_probe, schema):
    victim, results = fail_one_thread(probe, run_probe)
    for what, result in results:
        snapshot = assert_well_formed_failure(result, schema, allowed=(1,))
        assert any(t["error"] for t in snapshot["threads"]), what
        if what == "newest frame":
            broken = [t for t in snapshot["threads"] if t["tid"] == victim["tid"]]
            assert broken and broken[0]["error"], (what, snapshot)
            assert any(t["error"] is None for t in snapshot["threads"]), (what, snapshot)


@pytest.mark.parametrize("mode", ASAN_MODES)
def test_sanitizers_clean_under_failures(asan_probe, run_probe, schema):
    env = clean_env(**SANITIZER_ENV)
    runs = [run_probe(asan_probe, env=env)[0]]
    runs += [run_probe(asan_probe, *INJECTIONS[name], env=env)[0] for name in sorted(INJECTIONS)]
    runs += [result for _, result in fail_one_thread(asan_probe, run_probe, env=env)[1]]
    runs.append(run_probe(asan_probe, "--without", "regions", env=env)[0])
    for result in runs:
        assert not [m for m in REPORT_MARKERS if m in result.stderr], describe(result)
        assert_well_formed_failure(result, schema)
