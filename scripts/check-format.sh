#!/usr/bin/env bash
# Checks that every C++ file of the repository is formatted as .clang-format says (clang-format 14,
# the version Debian 12 ships); a stage of scripts/run-tests.sh. With --fix, formats them instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FORMAT="${CLANG_FORMAT:-clang-format-14}"
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
    "$FORMAT" -i "${files[@]}"
    exit 0
fi
if ! "$FORMAT" --dry-run --Werror "${files[@]}" 2>/tmp/check-format.$$; then
    places=$(grep -cE '^[^ ].*: (error|warning):' /tmp/check-format.$$ || true)
    awk '/^[^ ].*: (error|warning):/ && n++ < 20' /tmp/check-format.$$
    echo "check-format: $places places differ from .clang-format; run scripts/check-format.sh --fix"
    rm -f /tmp/check-format.$$
    exit 1
fi
rm -f /tmp/check-format.$$
echo "check-format: ${#files[@]} files formatted as .clang-format says"
