"""lldb_w1.py's lldb timer: runs inside lldb's Python (`command script import lldb_timer.py`).

Its plan is the JSON file named by $STACKSCOPE_BENCH_PLAN: `repeat`, `out`, and `variants`
([label, environment for the plugin])."""
import json
import os
import time

import lldb


def __lldb_init_module(debugger, internal_dict):
    plan = json.load(open(os.environ["STACKSCOPE_BENCH_PLAN"]))
    interpreter = debugger.GetCommandInterpreter()
    results = {}
    for label, env in plan["variants"]:
        os.environ.pop("STACKSCOPE_LLDB_READS", None)
        os.environ.update(env)
        times, output = [], ""
        for _ in range(plan["repeat"]):
            result = lldb.SBCommandReturnObject()
            started = time.perf_counter()
            interpreter.HandleCommand("stackscope all-threads", result)
            times.append(time.perf_counter() - started)
            if not result.Succeeded():
                raise RuntimeError(result.GetError())
            output = result.GetOutput()
        results[label] = {"times": times, "output": output}
    os.environ.pop("STACKSCOPE_LLDB_READS", None)
    json.dump(results, open(plan["out"], "w"))
