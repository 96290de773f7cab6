#!/usr/bin/env bash
# Installs what is needed, builds stackscope, starts the bundled demo program and prints
# its stackscope tree, one asyncio Task with its variables, the task tree of its asyncio
# service, who holds and waits for its locks, and its threads with their native (C) frames.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target stackscope

python=$(./scripts/find-python.sh)
work=$(mktemp -d)
fifo="$work/ready"
mkfifo "$fifo"
"$python" demo/demo_app.py "$fifo" &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null; rm -rf "$work"' EXIT
if ! ready=$(timeout 30 head -n1 "$fifo"); then
  echo "demo: the demo program did not get ready" >&2
  exit 1
fi
task=${ready#ready }
echo "== stackscope pid $demo_pid  ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
./build/stackscope pid "$demo_pid" "$@"
echo
echo "== stackscope pid $demo_pid --object $task --locals   (its asyncio Task, by id(), with each frame's variables)"
./build/stackscope pid "$demo_pid" --object "$task" --locals "$@"
echo
echo "== stackscope pid $demo_pid --tasks   (after the threads, every asyncio task: who awaits whom)"
./build/stackscope pid "$demo_pid" --tasks "$@"
echo
echo "== stackscope pid $demo_pid --locks   (after the threads, who holds each lock and who waits for it)"
./build/stackscope pid "$demo_pid" --locks "$@"
echo
echo "== stackscope pid $demo_pid --native   (the threads again, with their native frames; the interpreter's own collapsed)"
./build/stackscope pid "$demo_pid" --native "$@"
