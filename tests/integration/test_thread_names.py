"""Thread names come from the target's threading module: _active for every registered
thread, and threading._main_thread for the main thread even when _active lacks it."""
import json

import pytest

from harness import SCENARIO_DIR, describe, kill_group, make_core, run_tool, spawn_until_ready, wait_until_all_sleeping


@pytest.fixture(scope="module")
def unregistered_main(python, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("names")
    fifo = workdir / "ready.fifo"
    proc = spawn_until_ready([python, SCENARIO_DIR / "unregistered_main.py", fifo], fifo)
    try:
        wait_until_all_sleeping(proc.pid)
        yield proc, workdir
    finally:
        kill_group(proc)


def names_by_tid(result):
    assert result.returncode == 0, describe(result)
    return {t["tid"]: t["name"] for t in json.loads(result.stdout)["threads"]}


@pytest.mark.parametrize("mode", ["live", "core"])
def test_main_thread_named_from_main_thread_object(tool, python, unregistered_main, mode):
    proc, workdir = unregistered_main
    if mode == "live":
        result = run_tool(tool, ["pid", proc.pid, "--format", "json"])
    else:
        core = make_core(proc.pid, workdir / "core")
        try:
            result = run_tool(tool, ["core", core, "--executable", python, "--format", "json"])
        finally:
            core.unlink()
    names = names_by_tid(result)
    assert names.pop(proc.pid) == "main-unregistered"
    assert list(names.values()) == ["worker"]
