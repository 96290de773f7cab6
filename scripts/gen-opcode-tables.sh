#!/usr/bin/env bash
# Regenerates core/cpython/versions/opcodes_3_X.cpp with each interpreter of the test matrix
# (tests/integration/interpreters.py) and formats them; with --check, regenerates into a
# temporary directory and fails when a committed file differs. The second interpreter of a
# minor version (Debian's 3.11 and 3.13) must give the same data as the one the table is
# taken from: only the version line may differ.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FORMAT="${CLANG_FORMAT:-clang-format-14}"
check=0
[ "${1:-}" = "--check" ] && check=1

# label of the interpreter each table comes from, then labels that must agree with it
TABLES=("3.8.18" "3.9.18" "3.10.13" "3.11.7 3.11-debian" "3.12.1" "3.13.0 3.13-debian" "3.14" "3.15")

locate() {
    python3 - "$1" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from interpreters import INTERPRETERS
interp = [i for i in INTERPRETERS if i.label == sys.argv[1]][0]
path, why_not = interp.locate()
print(path or "", end="")
if path is None:
    print("gen-opcode-tables: %s: %s" % (sys.argv[1], why_not), file=sys.stderr)
PY
}

unversioned() { sed -e '/^\/\//d' -e 's/OpcodeData data{"[^"]*"/OpcodeData data{/' "$1"; }

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
rc=0
for row in "${TABLES[@]}"; do
    read -r -a labels <<<"$row"
    first=""
    for label in "${labels[@]}"; do
        py="$(locate "$label")"
        if [ -z "$py" ]; then rc=1; continue; fi
        mkdir -p "$out/$label"
        file="$("$py" scripts/gen-opcode-tables.py "$out/$label")"
        # format in the tree so that .clang-format applies
        "$FORMAT" --assume-filename=core/cpython/versions/x.cpp <"$file" >"$out/$label.cpp"
        if [ -z "$first" ]; then
            first="$label"
            name="$(basename "$file")"
            if [ "$check" = 1 ]; then
                if ! cmp -s "$out/$label.cpp" "core/cpython/versions/$name"; then
                    echo "gen-opcode-tables: core/cpython/versions/$name differs from what $label gives" >&2
                    rc=1
                fi
            else
                cp "$out/$label.cpp" "core/cpython/versions/$name"
                echo "core/cpython/versions/$name from $label ($py)"
            fi
        elif ! diff <(unversioned "$out/$first.cpp") <(unversioned "$out/$label.cpp") >&2; then
            echo "gen-opcode-tables: $label gives other opcode data than $first" >&2
            rc=1
        else
            echo "  $label ($py) gives the same data as $first"
        fi
    done
done
exit $rc
