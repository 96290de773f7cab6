"""What each thread is handling, against what the scenario's threads recorded about the
exceptions they caught (scenarios/handled_exceptions.py): a class nested in a class is named
by its __qualname__ (PyHeapTypeObject.ht_qualname) live and in cores on every interpreter,
and builtin exceptions are named from a 3.13+ core whose interpreter files are gone."""
import json
import shutil

import pytest

from harness import ScenarioProcess, describe, make_core, run_tool, wait_until_all_sleeping
from interpreters import interpreter_params
from test_absent_binaries import copy_interpreter

SCRIPT = "handled_exceptions.py"
BUILTIN_THREADS = ["builtin-key", "builtin-value"]


def handling_by_name(snapshot, truth):
    """{thread name in the truth: the tool's `handling` for that thread (missing: absent)}."""
    by_tid = {t["tid"]: t for t in snapshot["threads"]}
    return {name: by_tid[t["tid"]]["handling"] if t["tid"] in by_tid else "absent" for name, t in truth.items()}


@pytest.fixture(scope="session")
def handler_scenario(python, interp, tmp_path_factory):
    target = ScenarioProcess(python, tmp_path_factory.mktemp("handlers-%s-" % interp.label), script=SCRIPT).start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def handler_core(handler_scenario):
    core = make_core(handler_scenario.pid, handler_scenario.workdir / "core")
    yield core
    core.unlink()


def read(tool, args):
    result = run_tool(tool, list(args) + ["--format", "json"])
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def test_truth_is_what_the_scenario_claims(handler_scenario):
    """The scenario itself: the nested class's qualified name differs from its name."""
    truth = handler_scenario.truth
    assert truth["nested-class"]["handling"] == {"type": "Outer.Inner", "message": "boom"}, truth
    assert truth["builtin-key"]["handling"] == {"type": "KeyError", "message": "missing"}, truth
    assert truth["MainThread"]["handling"] is None, truth


def test_nested_class_is_named_by_its_qualname(tool, python, mode, handler_scenario, request):
    if mode == "live":
        wait_until_all_sleeping(handler_scenario.pid)
        args = ["pid", handler_scenario.pid]
    else:
        args = ["core", request.getfixturevalue("handler_core"), "--executable", python]
    truth = handler_scenario.truth
    seen = handling_by_name(read(tool, args), truth)
    assert seen == {name: t["handling"] for name, t in truth.items()}


@pytest.fixture(scope="session")
def relocated_handlers(python, interp, tmp_path_factory):
    """(core, truth) of the scenario run from a copy of the interpreter that is then deleted."""
    work = tmp_path_factory.mktemp("relocated-handlers-%s-" % interp.label)
    prefix = work / "prefix"
    relocated, env = copy_interpreter(python, prefix)
    scenario = ScenarioProcess(relocated.mapped_exe, work / "scenario", script=SCRIPT, env=env).start()
    try:
        core = make_core(scenario.pid, work / "core")
        truth = scenario.truth
    finally:
        scenario.stop()
        shutil.rmtree(prefix)
    yield core, truth
    core.unlink()


@pytest.mark.column("postmortem")
@pytest.mark.parametrize("interp", interpreter_params(lambda i: i.version >= (3, 13)), indirect=True, scope="session")
@pytest.mark.parametrize("thread", BUILTIN_THREADS + ["nested-class"])
def test_core_alone_names_the_handled_exception(tool, relocated_handlers, thread):
    """3.13+, binaries gone: builtin exception types are named without their tp_name strings,
    which live in the missing .rodata."""
    core, truth = relocated_handlers
    result = run_tool(tool, ["core", core, "--format", "json"])
    assert result.returncode in (0, 1), describe(result)
    seen = handling_by_name(json.loads(result.stdout), truth)
    assert seen[thread] == truth[thread]["handling"], (seen, describe(result))
    assert result.returncode == 0, describe(result)
