"""Fixtures shared by the integration tests.

One scenario process and one core per interpreter, shared by every test of
that interpreter (the interpreter is also the xdist group, see pytest.ini).
"""
import json
import os
import signal
from pathlib import Path
from urllib.parse import urlparse

import pytest

from harness import REPO_ROOT, SCHEMA_PATH, ScenarioProcess, describe, make_core, run_tool, wait_until_all_sleeping
from interpreters import interpreter_params
from matrix_report import MatrixReport


def pytest_configure(config):
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt_on_sigterm)  # run finalizers: they kill targets
    if not hasattr(config, "workerinput"):  # the xdist controller, or a plain run
        config.pluginmanager.register(MatrixReport(REPO_ROOT / "tests" / "allowed-skips"), "stackscope-matrix")


def interrupt_on_sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def pytest_collection_modifyitems(items):
    for item in items:
        item.user_properties.append(("matrix_cell", matrix_cell(item)))


def matrix_cell(item):
    """[row, column]: interpreter label (or "generic") and mode (or the column marker)."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    row = params["interp"].label if "interp" in params else "generic"
    marker = item.get_closest_marker("column")
    column = marker.args[0] if marker else params.get("mode", "other")
    return [row, column]


def executable(env_var, default, what):
    """The binary from $env_var or REPO_ROOT/default; skips loudly when it is missing."""
    path = Path(os.environ.get(env_var) or REPO_ROOT / default)
    if not os.access(str(path), os.X_OK):
        pytest.skip("!!! %s MISSING: %s is not an executable (set $%s or build it)" % (what, path, env_var))
    return path


@pytest.fixture(scope="session")
def tool():
    return executable("STACKSCOPE_BIN", "build/stackscope", "STACKSCOPE BINARY")


@pytest.fixture(scope="session")
def hooks_tool(tool):
    """The CLI with the test hooks (STACKSCOPE_TEST_* variables) compiled in: $STACKSCOPE_TEST_HOOKS_BIN,
    else stackscope-test-hooks beside the tool (cmake -DSTACKSCOPE_TEST_HOOKS=ON); tool never has them."""
    path = Path(os.environ.get("STACKSCOPE_TEST_HOOKS_BIN") or tool.parent / "stackscope-test-hooks")
    if not os.access(str(path), os.X_OK):
        pytest.skip("!!! TEST-HOOKS BINARY MISSING: %s is not an executable (configure with -DSTACKSCOPE_TEST_HOOKS=ON "
                    "or set $STACKSCOPE_TEST_HOOKS_BIN)" % path)
    return path


@pytest.fixture(scope="session")
def asan_tool():
    return executable("STACKSCOPE_ASAN_BIN", "build-asan/stackscope", "ASAN BINARY")


@pytest.fixture(scope="session")
def schema():
    schema = json.loads(SCHEMA_PATH.read_text())
    if not urlparse(schema.get("$id", "")).scheme:
        # A relative $id breaks $ref resolution in jsonschema; test_schema_file.py reports it.
        schema["$id"] = SCHEMA_PATH.as_uri()
    return schema


@pytest.fixture(
    scope="session",
    params=interpreter_params(),
)
def interp(request):
    return request.param


@pytest.fixture(scope="session")
def python(interp):
    path, why_not = interp.locate()
    if path is None:
        pytest.skip("!!! INTERPRETER %s MISSING: %s" % (interp.label, why_not))
    return path


@pytest.fixture(scope="session")
def scenario(python, interp, tmp_path_factory):
    target = ScenarioProcess(python, tmp_path_factory.mktemp("scenario-%s-" % interp.label)).start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def truth(scenario):
    return scenario.truth


@pytest.fixture(scope="session")
def core_dump(scenario):
    core = make_core(scenario.pid, scenario.workdir / "core")
    wait_until_all_sleeping(scenario.pid)
    yield core
    core.unlink()


@pytest.fixture(params=["live", "core"])
def mode(request):
    return request.param


@pytest.fixture
def target_args(request, mode, scenario, python):
    """Tool arguments selecting the scenario: its pid (live) or its core."""
    if mode.endswith("live"):
        wait_until_all_sleeping(scenario.pid)
        return ["pid", scenario.pid]
    return ["core", request.getfixturevalue("core_dump"), "--executable", python]


@pytest.fixture(scope="session")
def tool_runs():
    """Cache of tool runs: every (binary, target, arguments) runs once per session."""
    return {}


@pytest.fixture
def run_cached(tool_runs, target_args):
    def run(binary, *options):
        key = (str(binary),) + tuple(str(a) for a in target_args) + options
        if key not in tool_runs:
            tool_runs[key] = run_tool(binary, list(target_args) + list(options))
        return tool_runs[key]

    return run


@pytest.fixture
def snapshot(tool, run_cached):
    """The tool's JSON for the scenario in this mode."""
    result = run_cached(tool, "--format", "json")
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


# ---- the debugger front-ends' tasks scenario (test_gdb_frontend.py, test_lldb_frontend.py) ----


@pytest.fixture(scope="session")
def tasks_scenario(python, interp, tmp_path_factory):
    """scenarios/frontend_tasks.py, one per interpreter, shared by gdb's and lldb's `tasks` tests."""
    target = ScenarioProcess(python, tmp_path_factory.mktemp("frontend-tasks-%s-" % interp.label),
                             script="frontend_tasks.py").start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def tasks_core(tasks_scenario):
    core = make_core(tasks_scenario.pid, tasks_scenario.workdir / "core")
    wait_until_all_sleeping(tasks_scenario.pid)
    yield core
    core.unlink()


@pytest.fixture(scope="session")
def tasks_cli_runs():
    return {}


@pytest.fixture
def tasks_cli(tasks_cli_runs, tool, mode, tasks_scenario, python, request):
    """tasks_cli(*options): the CLI's stdout on the tasks scenario in this mode (each run once), exit 0."""
    def run(*options):
        if mode == "live":
            wait_until_all_sleeping(tasks_scenario.pid)
            target = ["pid", tasks_scenario.pid]
        else:
            target = ["core", request.getfixturevalue("tasks_core"), "--executable", python]
        key = (str(tool), mode, str(tasks_scenario.pid)) + options
        if key not in tasks_cli_runs:
            tasks_cli_runs[key] = run_tool(tool, target + list(options))
        result = tasks_cli_runs[key]
        assert result.returncode == 0, describe(result)
        return result.stdout

    return run


@pytest.fixture
def tasks_cli_json(tasks_cli, tasks_scenario):
    """The CLI's --tasks JSON, checked to list the scenario's tasks (by the names and ids it
    wrote, on its one loop and thread), so that equal outputs cannot both be empty."""
    expected = json.loads(tasks_cli("--tasks", "--format", "json"))
    truth = tasks_scenario.truth
    assert expected["tasks_error"] is None, expected["tasks_error"]
    assert {t["name"]: t["id"] for t in expected["tasks"]} == truth["tasks"], expected["tasks"]
    assert {(t["loop"], t["loop_thread"]) for t in expected["tasks"]} == {(truth["loop"], truth["loop_thread"])}
    running = {t["tid"]: t["running_task"] for t in expected["threads"]}
    assert running[truth["loop_thread"]] == truth["tasks"][truth["running_task"]], running
    return expected
