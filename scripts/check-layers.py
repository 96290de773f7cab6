#!/usr/bin/env python3
"""Checks that every #include follows the layers (core/README.md):

    include/stackscope   the public API: includes only itself
    core/common          + common
    core/target          + target         (targets, ELF, /proc, glibc, the page cache)
    core/native          + native         (native stacks through libdwfl, over a target)
    core/cpython         + cpython        (layouts and versions, discovery, types, objects, frames, threads)
    core/extract         + extract        (one extraction, the snapshot)
    core/render          public + common + render   (formatters consume the model only)
    core/debugger        everything above (what the debugger front-ends share)
    cli/ gdb/ lldb/      the public API and their own files only

Usage: scripts/check-layers.py [REPO]. Prints each violation; exits 1 when there is one."""
import re
import sys
from pathlib import Path

ALLOWED = {
    "include/stackscope": {"stackscope"},
    "core/common": {"stackscope", "common"},
    "core/target": {"stackscope", "common", "target"},
    "core/native": {"stackscope", "common", "target", "native"},
    "core/cpython": {"stackscope", "common", "target", "cpython"},
    "core/extract": {"stackscope", "common", "target", "native", "cpython", "extract"},
    "core/render": {"stackscope", "common", "render"},
    "core/debugger": {"stackscope", "common", "target", "native", "cpython", "extract", "render", "debugger"},
}
FRONT_ENDS = ["cli", "gdb", "lldb"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def violations(repo):
    for folder, allowed in ALLOWED.items():
        for path in sorted((repo / folder).rglob("*.[ch]pp")):
            for name in INCLUDE.findall(path.read_text()):
                layer = name.split("/", 1)[0] if "/" in name else None
                if layer not in allowed:
                    yield "%s includes \"%s\": %s may include only %s" % (
                        path.relative_to(repo), name, folder, ", ".join(sorted(allowed)))
    for front_end in FRONT_ENDS:
        own = {p.name for p in (repo / front_end).glob("*.[ch]pp")}
        for path in sorted((repo / front_end).glob("*.[ch]pp")):
            for name in INCLUDE.findall(path.read_text()):
                if not name.startswith("stackscope/") and name not in own:
                    yield "%s includes \"%s\": a front-end may include only include/stackscope/ and its own files" % (
                        path.relative_to(repo), name)


def main():
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
    found = list(violations(repo))
    for line in found:
        print("check-layers: " + line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
