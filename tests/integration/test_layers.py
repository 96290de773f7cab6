"""The include check (scripts/check-layers.py) holds for the repository and catches the
violations it is for: a layer including from above it, a front-end including a private header."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "scripts" / "check-layers.py"

pytestmark = pytest.mark.column("other")


def run_check(repo):
    return subprocess.run([sys.executable, str(CHECK), str(repo)], capture_output=True, text=True, timeout=60)


def test_the_repository_follows_the_layers():
    result = run_check(REPO)
    assert result.returncode == 0, result.stderr


def test_violations_are_named(tmp_path):
    files = {
        "include/stackscope/model.hpp": '#include "cpython/object_reader.hpp"\n',
        "core/render/format_tree.cpp": '#include "stackscope/model.hpp"\n#include "cpython/object_reader.hpp"\n',
        "core/target/elf_file.cpp": '#include "target/elf_file.hpp"\n#include "extract/extraction.hpp"\n',
        "core/debugger/ok.cpp": '#include "extract/extraction.hpp"\n#include "render/printable.hpp"\n',
        "cli/main.cpp": '#include "stackscope/snapshot.hpp"\n#include "exit_codes.hpp"\n#include "target/remote_memory.hpp"\n',
        "cli/exit_codes.hpp": "\n",
        "gdb/module.cpp": '#include "../core/cpython/object_reader.hpp"\n',
        "lldb/plugin.cpp": '#include "stackscope/debugger.hpp"\n',
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    result = run_check(tmp_path)
    assert result.returncode == 1
    lines = sorted(result.stderr.splitlines())
    assert len(lines) == 5, result.stderr
    for offender in ["include/stackscope/model.hpp", "core/render/format_tree.cpp", "core/target/elf_file.cpp",
                     "cli/main.cpp includes \"target/remote_memory.hpp\"", "gdb/module.cpp"]:
        assert any(offender in line for line in lines), (offender, result.stderr)
