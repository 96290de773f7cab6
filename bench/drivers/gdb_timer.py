"""lldb_w1.py's gdb timer: runs inside gdb's Python (`source gdb_timer.py`, after the front-end).

Its plan is the JSON file named by $STACKSCOPE_BENCH_PLAN: `repeat`, `out`, and `variants`
([label, py-stackscope-memory setting or null])."""
import json
import os
import time

import gdb

plan = json.load(open(os.environ["STACKSCOPE_BENCH_PLAN"]))
results = {}
for label, setting in plan["variants"]:
    try:
        if setting:
            gdb.execute("set py-stackscope-memory " + setting)
    except gdb.error:
        continue  # this gdb front-end has no such setting
    times, output = [], ""
    for _ in range(plan["repeat"]):
        started = time.perf_counter()
        output = gdb.execute("py-stackscope", to_string=True)
        times.append(time.perf_counter() - started)
    results[label] = {"times": times, "output": output}
json.dump(results, open(plan["out"], "w"))
