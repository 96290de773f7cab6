"""The gdb session of gdb_frontend.py: runs inside gdb's Python (`gdb -x gdb_session.py`).

Its parameters come from the JSON file named by $STACKSCOPE_GDB_SESSION_PLAN: `script` (the
front-end to source), `out` (where the results go), `detail_lwp` (the thread looked at in
detail) and `commands` ([key, command] pairs; `{thread}` is that thread's gdb number). Each
command's output or error, gdb's threads, `bt` of every thread with the frame filter on, and of
one thread with it off, are written to `out` as JSON.
"""
import json
import os
import time

import gdb

with open(os.environ["STACKSCOPE_GDB_SESSION_PLAN"]) as plan_file:
    PLAN = json.load(plan_file)
SCRIPT, OUT, DETAIL_LWP, COMMANDS = PLAN["script"], PLAN["out"], PLAN["detail_lwp"], PLAN["commands"]
result = {"commands": {}, "threads": [], "bt": {}, "bt_disabled": None, "seconds": {}}


def run(key, command):
    started = time.perf_counter()
    try:
        result["commands"][key] = {"output": gdb.execute(command, to_string=True), "error": None}
    except gdb.error as error:
        result["commands"][key] = {"output": None, "error": str(error)}
    result["seconds"][key] = time.perf_counter() - started


gdb.execute("set pagination off")
gdb.execute("source " + SCRIPT)
threads = list(reversed(gdb.selected_inferior().threads()))  # oldest first
result["threads"] = [{"num": t.num, "lwp": t.ptid[1]} for t in threads]
import stackscope_core  # noqa: E402 (the front-end's script puts it on the path)
result["anchors"] = hasattr(stackscope_core.Frame, "eval_stack_address")  # a core that gives them
result["selected"] = gdb.selected_thread().num
detail = next((t.num for t in threads if t.ptid[1] == DETAIL_LWP), threads[0].num)
result["detail_thread"] = detail
for key, command in COMMANDS:
    run(key, command.format(thread=detail))
for thread in threads:
    thread.switch()
    run("bt", "bt")
    result["bt"][str(thread.ptid[1])] = result["commands"].pop("bt")
gdb.execute("thread %d" % detail, to_string=True)
gdb.execute("disable frame-filter global stackscope")
run("bt_disabled", "bt")
gdb.execute("enable frame-filter global stackscope")
import stackscope_gdb  # noqa: E402
result["extractions"] = stackscope_gdb.extractions  # every command so far ran in one stop
gdb.execute("set py-stackscope-memory gdb")
run("json_via_gdb", "py-stackscope -json")
with open(OUT, "w") as out:
    json.dump(result, out)
