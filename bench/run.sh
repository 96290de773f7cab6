#!/usr/bin/env bash
# Runs every benchmark against the current build (build/), each with its peer side by side
# in the same run. Not part of the test suite: times depend on the machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
echo "=== W1 in one gdb session: py-stackscope vs CPython's py-bt"
/usr/bin/python3 bench/gdb_w1.py "$@"
echo
echo "=== W1 in the debugger front-ends and the CLI, side by side"
/usr/bin/python3 bench/lldb_w1.py
echo
echo "=== W1 with native frames: stackscope pid --native / --native-all vs gdb's thread apply all bt"
/usr/bin/python3 bench/w1_native.py
echo
echo "=== W2 (10,000 asyncio tasks, CPython 3.14): stackscope pid --tasks vs python3.14 -m asyncio pstree"
/usr/bin/python3 bench/w2_tasks.py
