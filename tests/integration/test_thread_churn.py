"""Stopping a process whose threads come and go: every run ends cleanly and the target
is left running and untraced."""
import json

import jsonschema
import pytest

from harness import SCENARIO_DIR, describe, kill_group, run_tool, spawn_until_ready, task_status

RUNS = 25


@pytest.mark.column("churn")
def test_threads_coming_and_going(tool, python, schema, tmp_path):
    fifo = tmp_path / "ready.fifo"
    proc = spawn_until_ready([python, SCENARIO_DIR / "thread_churn.py", fifo], fifo)
    try:
        outcomes, churn_threads_seen = [], 0
        for _ in range(RUNS):
            result = run_tool(tool, ["pid", proc.pid, "--format", "json"], timeout=30)
            assert result.returncode in (0, 1), describe(result)
            snapshot = json.loads(result.stdout)
            jsonschema.Draft202012Validator(schema).validate(snapshot)
            assert any(t["name"] == "MainThread" for t in snapshot["threads"]), describe(result)
            outcomes.append(result.returncode)
            churn_threads_seen += sum(1 for t in snapshot["threads"] if (t["name"] or "").startswith("churn-"))
        assert proc.poll() is None, "the target died"
        states = task_status(proc.pid)
        assert all(s["TracerPid"] == 0 and s["State"][0] not in "tT" for s in states.values()), states
        assert outcomes.count(0) >= RUNS // 2, outcomes  # stopped threads read consistently
        assert churn_threads_seen > 0, "no run caught a short-lived thread"
    finally:
        kill_group(proc)
