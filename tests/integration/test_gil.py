"""The GIL holder is found: a thread spinning in Python holds it, a sleeping one does not."""
import json
import time

import pytest

from harness import SCENARIO_DIR, describe, kill_group, make_core, run_tool, spawn_until_ready

SPIN_LINES = {
    number
    for number, text in enumerate((SCENARIO_DIR / "gil_spinner.py").read_text().splitlines(), start=1)
    if text.rstrip().endswith("# SPIN")
}


@pytest.fixture(scope="module")
def spinner(python, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gil")
    fifo = workdir / "ready.fifo"
    proc = spawn_until_ready([python, SCENARIO_DIR / "gil_spinner.py", fifo], fifo)
    try:
        time.sleep(0.2)  # let the spinner take the GIL
        yield proc, workdir
    finally:
        kill_group(proc)


def holders(result):
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)
    by_name = {t["name"]: t for t in snapshot["threads"]}
    assert set(by_name) == {"MainThread", "spinner"}
    spin_frame = by_name["spinner"]["frames"][-1]
    assert (spin_frame["name"], spin_frame["line"] in SPIN_LINES) == ("spin", True)
    return {name: t["holds_gil"] for name, t in by_name.items()}


@pytest.mark.column("gil")
def test_spinning_thread_holds_gil_live(tool, spinner):
    proc, _ = spinner
    assert holders(run_tool(tool, ["pid", proc.pid, "--format", "json"])) == {"MainThread": False, "spinner": True}


@pytest.mark.column("gil")
def test_spinning_thread_holds_gil_in_core(tool, spinner, python):
    proc, workdir = spinner
    core = make_core(proc.pid, workdir / "core")
    try:
        result = run_tool(tool, ["core", core, "--executable", python, "--format", "json"])
    finally:
        core.unlink()
    assert holders(result) == {"MainThread": False, "spinner": True}
