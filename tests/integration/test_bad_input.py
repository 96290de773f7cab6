"""Bad targets and arguments give the documented exit code and one line on stderr."""
import os
import subprocess

import pytest

from harness import clean_env, describe, kill_group, make_core, run_tool, spawn, stderr_is_one_line

pytestmark = pytest.mark.column("errors")

USAGE, NOT_PYTHON, PERMISSION, BAD_FILE, INTERNAL = 2, 3, 4, 5, 6


def assert_error(result, *codes):
    assert result.returncode in codes, describe(result)
    assert stderr_is_one_line(result), describe(result)


@pytest.fixture(scope="module")
def sleep_process():
    proc = spawn(["sleep", "1000"])
    yield proc
    kill_group(proc)


@pytest.fixture(scope="module")
def sleep_core(sleep_process, tmp_path_factory):
    core = make_core(sleep_process.pid, tmp_path_factory.mktemp("sleep-core") / "core")
    yield core
    core.unlink()


def test_live_non_python_process(tool, sleep_process):
    assert_error(run_tool(tool, ["pid", sleep_process.pid]), NOT_PYTHON)


def test_core_of_c_program(tool, sleep_core):
    assert_error(run_tool(tool, ["core", sleep_core]), NOT_PYTHON)


def test_random_bytes_core(tool, tmp_path):
    path = tmp_path / "random.core"
    path.write_bytes(os.urandom(256 * 1024))
    assert_error(run_tool(tool, ["core", path]), BAD_FILE)


def test_empty_core(tool, tmp_path):
    path = tmp_path / "empty.core"
    path.write_bytes(b"")
    assert_error(run_tool(tool, ["core", path]), BAD_FILE)


def test_missing_core(tool, tmp_path):
    assert_error(run_tool(tool, ["core", tmp_path / "no-such.core"]), BAD_FILE)


def test_error_message_shows_control_characters_escaped(tool, tmp_path):
    """A message quoting a name (here a path; from a core, the files its notes name) cannot drive
    the terminal: its escape and bell characters are shown escaped."""
    name = "no-such\x1b]0;owned\x07\x1b[2J.core"
    result = run_tool(tool, ["core", tmp_path / name])
    assert_error(result, BAD_FILE)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr, repr(result.stderr)
    assert "no-such\\x1b]0;owned\\x07\\x1b[2J.core" in result.stderr, repr(result.stderr)


def test_output_that_cannot_be_written_exits_7(tool, target_args):
    """Output to a full device: one line saying so and exit 7, not exit 0 with nothing written.
    A reader that goes away (`| head`) is not a failure (SIGPIPE ends the command first; when it
    is ignored, the command stops writing and exits as it would have)."""
    with open("/dev/full", "w") as full:
        result = subprocess.run([str(tool)] + [str(a) for a in target_args] + ["--format", "json"], env=clean_env(),
                                stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert result.returncode == 7, (result.returncode, result.stderr)
    assert result.stderr.strip() == "stackscope: cannot write the output: No space left on device", result.stderr


def test_dead_pid(tool):
    child = subprocess.Popen(["true"])
    child.wait()
    assert_error(run_tool(tool, ["pid", child.pid]), NOT_PYTHON, BAD_FILE)


@pytest.mark.parametrize(
    "args",
    [[], ["pid"], ["pid", "not-a-pid"], ["frobnicate"], ["pid", "1", "--format", "xml"], ["pid", "1", "--flat", "--json"],
     ["pid", "1", "--format", "tree", "--format", "json"], ["pid", "1", "--native", "--no-block"], ["core"],
     ["pid", "1", "--flat=false"], ["pid", "1", "--ascii=no", "--json"], ["pid", "1", "--object"],
     ["pid", "1", "--object", "xyz"], ["pid", "1", "--object", "0x"], ["pid", "1", "--object", "-5"], ["pid", "1", "--object", "0"],
     ["pid", "1", "--object", "0x1ffffffffffffffff"], ["core", "x", "--object", "12abc"],
     ["pid", "1", "--object", "0x1000", "--tasks"], ["core", "x", "--object", "0x1000", "--locks"]],
    ids=["no-args", "pid-missing", "pid-not-number", "unknown-command", "bad-format", "two-formats", "format-twice",
         "native-no-block", "core-missing", "flag-with-value", "flag-with-value-2", "object-missing",
         "object-not-address", "object-bare-0x", "object-negative", "object-null", "object-too-big", "object-trailing-junk",
         "object-with-tasks", "object-with-locks"],
)
def test_usage_error(tool, args):
    assert_error(run_tool(tool, args), USAGE)


def test_truncated_python_core(tool, core_dump, python, tmp_path):
    truncated = tmp_path / "truncated.core"
    with open(core_dump, "rb") as full:
        truncated.write_bytes(full.read(64 * 1024))
    assert_error(run_tool(tool, ["core", truncated, "--executable", python]), BAD_FILE, NOT_PYTHON)


def test_permission_denied(tool, scenario):
    if os.geteuid() != 0:
        pytest.skip("needs root: the tool runs as nobody against a root-owned target")
    result = subprocess.run(
        [str(tool), "pid", str(scenario.pid)], user="nobody", group="nogroup", extra_groups=[],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )
    assert_error(result, PERMISSION)


def tracer_of(pid):
    with open("/proc/%d/status" % pid) as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["TracerPid"]), fields["State"].strip()


def test_internal_error_exits_6(hooks_tool, target_args, scenario):
    """A bug (an unexpected C++ exception, injected by a test-only variable) exits 6 with one
    line that says so, and a live target is left detached and running."""
    result = run_tool(hooks_tool, target_args, env=clean_env(STACKSCOPE_TEST_INTERNAL_ERROR="1"))
    assert_error(result, INTERNAL)
    assert "internal error" in result.stderr, describe(result)
    tracer, state = tracer_of(scenario.pid)
    assert tracer == 0 and not state.startswith(("t", "T")), (tracer, state)


TEST_HOOKS = {"STACKSCOPE_TEST_INTERNAL_ERROR": "1", "STACKSCOPE_TEST_PAUSE_MS": "60000", "STACKSCOPE_TEST_PROC_MEM": "1"}


def test_shipped_binary_has_no_test_hooks(tool, target_args):
    """The stackscope that is installed does not know the test hooks' variables: set, they change
    nothing (no exit 6, no pause); only stackscope-test-hooks reads them."""
    assert b"STACKSCOPE_TEST_" not in tool.read_bytes(), "%s has test hooks compiled in" % tool
    result = run_tool(tool, target_args + ["--format", "json"], env=clean_env(**TEST_HOOKS), timeout=30)
    assert result.returncode == 0, describe(result)
