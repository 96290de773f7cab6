"""Reading the tasks of a process that creates and finishes tasks all the time, with and
without stopping it, with and without their locals: every run ends cleanly with well-formed
output, and the target is left running and untraced."""
import json

import jsonschema
import pytest

from harness import SCENARIO_DIR, describe, kill_group, run_tool, spawn_until_ready, task_status

RUNS = 8


@pytest.mark.column("churn")
def test_tasks_coming_and_going(tool, python, schema, tmp_path):
    fifo = tmp_path / "ready.fifo"
    proc = spawn_until_ready([python, SCENARIO_DIR / "task_churn.py", fifo], fifo)
    try:
        long_lived_seen = {True: 0, False: 0}
        for run in range(RUNS):
            no_block = run % 2 == 1
            args = ["pid", proc.pid, "--tasks", "--format", "json"] + (["--no-block"] if no_block else [])
            if run % 4 >= 2:  # the reprs of locals that come and go
                args.append("--locals")
            result = run_tool(tool, args, timeout=60)
            assert result.returncode in (0, 1), describe(result)
            assert "internal error" not in result.stderr, describe(result)
            snapshot = json.loads(result.stdout)
            jsonschema.Draft202012Validator(schema).validate(snapshot)
            names = [t["description"] for t in snapshot["tasks"]]
            # The three long-lived tasks wait the whole time: a stopped read always lists them.
            if sum("long_life" in n for n in names) == 3:
                long_lived_seen[no_block] += 1
            if "--locals" in args and not no_block:  # each shows its Future that holds itself
                shown = [local["name"] for t in snapshot["tasks"] for f in t["frames"] if f["function"] == "long_life"
                         for local in f.get("locals") or []]
                assert shown.count("done") == 3, shown
        assert proc.poll() is None, "the target died"
        states = task_status(proc.pid)
        assert all(s["TracerPid"] == 0 and s["State"][0] not in "tT" for s in states.values()), states
        assert long_lived_seen[False] == RUNS // 2, long_lived_seen  # every stopped read
        assert long_lived_seen[True] >= 1, long_lived_seen  # some read without stopping
    finally:
        kill_group(proc)
