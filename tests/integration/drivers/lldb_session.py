"""The lldb session of lldb_frontend.py: runs inside lldb's Python (`command script import
lldb_session.py`).

Its plan is the JSON file named by $STACKSCOPE_LLDB_SESSION_PLAN: `commands` ([{key, command,
env}]; `{index_of_tid:N}` in a command becomes lldb's index id of thread N, and a command's
`env` is set only while it runs) and `out`, where each command's output, error text and whether
it succeeded go, with lldb's index id of every tid and the selected thread's.
"""
import json
import os
import re

import lldb


def index_of_tid(process, match):
    thread = process.GetThreadByID(int(match.group(1)))
    return str(thread.GetIndexID()) if thread.IsValid() else "no-such-tid"


def __lldb_init_module(debugger, internal_dict):
    with open(os.environ["STACKSCOPE_LLDB_SESSION_PLAN"]) as plan_file:
        plan = json.load(plan_file)
    interpreter = debugger.GetCommandInterpreter()
    process = debugger.GetSelectedTarget().GetProcess()
    results = {}
    for step in plan["commands"]:
        command = re.sub(r"\{index_of_tid:(\d+)\}", lambda m: index_of_tid(process, m), step["command"])
        saved = {name: os.environ.get(name) for name in step.get("env", {})}
        os.environ.update(step.get("env", {}))
        result = lldb.SBCommandReturnObject()
        try:
            interpreter.HandleCommand(command, result)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        results[step["key"]] = {"command": command, "output": result.GetOutput() or "",
                                "error": result.GetError() or "", "succeeded": result.Succeeded()}
    threads, selected = {}, None
    if process.IsValid():
        threads = {str(t.GetThreadID()): t.GetIndexID() for t in process}
        selected = process.GetSelectedThread().GetIndexID()
    with open(plan["out"], "w") as out:
        json.dump({"results": results, "threads": threads, "selected": selected}, out)
