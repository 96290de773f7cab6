#!/usr/bin/env bash
# Prints the path of a CPython interpreter stackscope supports, preferring pyenv's 3.12, 3.13, 3.11.
set -euo pipefail
roots=()
[ -n "${PYENV_ROOT:-}" ] && roots+=("$PYENV_ROOT")
command -v pyenv >/dev/null 2>&1 && roots+=("$(pyenv root)")
roots+=("$HOME/.pyenv")
for minor in 12 13 11; do
  for root in "${roots[@]}"; do
    for py in "$root"/versions/3."$minor".*/bin/python3; do
      [ -x "$py" ] && { echo "$py"; exit 0; }
    done
  done
done
echo "find-python: no supported CPython (3.11-3.13) found under pyenv" >&2
exit 1
