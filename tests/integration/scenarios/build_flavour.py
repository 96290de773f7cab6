"""Says which build it is, then parks: `build_flavour.py READY_FIFO TRUTH_JSON [FAKE]`.

Writes {"debug_build": <has sys.gettotalrefcount>, "version": [major, minor]} to TRUTH_JSON;
with FAKE (a sys attribute name) it first gives its sys module that function, as a build
that has it would: gettotalrefcount (Py_DEBUG) or getobjects (Py_TRACE_REFS). The tool must
tell the build from exactly that evidence. Standard library only; Python 3.8 syntax.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario_support  # noqa: E402

truth = {"debug_build": hasattr(sys, "gettotalrefcount"), "version": list(sys.version_info[:2])}
if len(sys.argv) > 3:
    setattr(sys, sys.argv[3], lambda: 0)
scenario_support.end_after_lifetime()
scenario_support.write_json(sys.argv[2], truth)
scenario_support.signal_ready(sys.argv[1])
while True:
    time.sleep(3600)
