"""gdb_w1.py's gdb session: runs inside gdb's Python (`gdb -x gdb_w1_session.py`).

Parameters by environment: STACKSCOPE_BENCH_PYBT_SCRIPT (CPython's python-gdb.py),
STACKSCOPE_BENCH_GDB_SCRIPT (build/gdb/stackscope-gdb.py), STACKSCOPE_BENCH_OUT (the JSON
results: seconds, output and error per command)."""
import json
import os
import time

import gdb

PYBT_SCRIPT = os.environ["STACKSCOPE_BENCH_PYBT_SCRIPT"]
STACKSCOPE_SCRIPT = os.environ["STACKSCOPE_BENCH_GDB_SCRIPT"]
OUT = os.environ["STACKSCOPE_BENCH_OUT"]
gdb.execute("set pagination off")
gdb.execute("source " + PYBT_SCRIPT)
gdb.execute("source " + STACKSCOPE_SCRIPT)
result = {}
for key, command in (("py-stackscope", "py-stackscope"), ("py-stackscope (again, cached)", "py-stackscope"),
                     ("thread apply all py-bt", "thread apply all py-bt")):
    started = time.perf_counter()
    try:
        output, error = gdb.execute(command, to_string=True), None
    except gdb.error as e:
        output, error = "", str(e)
    result[key] = {"seconds": time.perf_counter() - started, "output": output, "error": error}
json.dump(result, open(OUT, "w"))
