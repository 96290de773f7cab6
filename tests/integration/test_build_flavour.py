"""The build is told from what the interpreter says about itself (sys.gettotalrefcount only in
Py_DEBUG builds, sys.getobjects only in Py_TRACE_REFS ones): JSON `debug_build`, and a build
whose layout was not measured (debug before 3.13, any Py_TRACE_REFS build) refused with exit 3."""
import json

import pytest

from harness import SCENARIO_DIR, describe, kill_group, run_tool, spawn_until_ready

NOT_PYTHON = 3


@pytest.fixture
def flavoured(python, tmp_path):
    """flavoured(fake=None): (pid, truth) of a parked interpreter, its sys given `fake`."""
    procs = []

    def start(fake=None):
        fifo, truth = tmp_path / ("ready-%s.fifo" % fake), tmp_path / ("truth-%s.json" % fake)
        argv = [python, SCENARIO_DIR / "build_flavour.py", fifo, truth] + ([fake] if fake else [])
        procs.append(spawn_until_ready(argv, fifo))
        return procs[-1].pid, json.loads(truth.read_text())

    yield start
    for proc in procs:
        kill_group(proc)


def test_debug_build_as_the_interpreter_says(tool, flavoured):
    pid, truth = flavoured()
    result = run_tool(tool, ["pid", pid, "--json"])
    if truth["debug_build"] and truth["version"] < [3, 13]:
        assert result.returncode == NOT_PYTHON, describe(result)
        return
    assert result.returncode == 0, describe(result)
    assert json.loads(result.stdout)["debug_build"] is truth["debug_build"]


def test_debug_evidence_alone_decides(tool, flavoured):
    """A release build whose sys has gettotalrefcount is taken for a debug build: read as one
    from 3.13 on (the tables serve both), refused before."""
    pid, truth = flavoured("gettotalrefcount")
    result = run_tool(tool, ["pid", pid, "--json"])
    if truth["version"] >= [3, 13]:
        assert result.returncode == 0, describe(result)
        assert json.loads(result.stdout)["debug_build"] is True
    else:
        assert result.returncode == NOT_PYTHON, describe(result)
        assert "debug build (Py_DEBUG) is not supported" in result.stderr, describe(result)


def test_trace_refs_build_refused(tool, flavoured):
    pid, _ = flavoured("getobjects")
    result = run_tool(tool, ["pid", pid, "--json"])
    assert result.returncode == NOT_PYTHON, describe(result)
    assert "Py_TRACE_REFS build is not supported" in result.stderr, describe(result)
