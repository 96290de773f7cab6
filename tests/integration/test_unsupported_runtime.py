"""A 3.13+ runtime whose _Py_DebugOffsets say free-threaded, or name a version without a
known layout, is refused with exit 3 and one line, never read with the wrong layout.

The runtime is a real one: a core of a small process of each 3.13+ interpreter, with the
flag or version patched in a copy of the core."""
import os
import re
import shutil
import struct

import pytest

from harness import core_segment_containing, describe, kill_group, make_core, run_tool, spawn, stderr_is_one_line, wait_for_ready
from interpreters import interpreter_params

pytestmark = [
    pytest.mark.column("errors"),
    pytest.mark.parametrize(
        "interp", interpreter_params(lambda i: i.version >= (3, 13)), indirect=True, scope="session"
    ),
]

NOT_PYTHON = 3
REPORT_RUNTIME = (
    "import ctypes, sys, time\n"
    "address = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, '_PyRuntime'))\n"
    "open(sys.argv[1], 'w').write('%x ready\\n' % address)\n"
    "time.sleep(100000)\n"
)


@pytest.fixture(scope="module")
def runtime_core(python, tmp_path_factory):
    """(core path, address of _PyRuntime in it) of an idle process."""
    workdir = tmp_path_factory.mktemp("unsupported")
    fifo = workdir / "ready.fifo"
    os.mkfifo(fifo)
    proc = spawn([python, "-c", REPORT_RUNTIME, fifo])
    try:
        line = wait_for_ready(proc, fifo, 30)
        address = int(line.split()[0], 16)
        core = make_core(proc.pid, workdir / "core")
    finally:
        kill_group(proc)
    yield core, address
    core.unlink()


def patched_copy(core, address, offset, data, tmp_path):
    """A copy of the core with `data` written at runtime address + offset."""
    copy = tmp_path / "patched.core"
    shutil.copyfile(core, copy)
    with open(copy, "r+b") as out:
        segment = core_segment_containing(out, address + offset)
        if segment is None:
            raise AssertionError("_PyRuntime at %#x is not in the core" % address)
        vaddr, file_offset, _ = segment
        out.seek(file_offset + address + offset - vaddr)
        out.write(data)
    return copy


def refused(tool, python, core):
    result = run_tool(tool, ["core", core, "--executable", python])
    assert result.returncode == NOT_PYTHON, describe(result)
    assert stderr_is_one_line(result), describe(result)
    return result.stderr


def test_unpatched_core_is_read(tool, python, runtime_core):
    core, _ = runtime_core
    result = run_tool(tool, ["core", core, "--executable", python])
    assert result.returncode == 0, describe(result)


def test_free_threaded_runtime_refused(tool, python, runtime_core, tmp_path):
    core, address = runtime_core
    message = refused(tool, python, patched_copy(core, address, 16, struct.pack("<Q", 1), tmp_path))
    assert re.search(r"Python 3\.\d+t \(0x30[0-9a-f]{5}\) is not supported", message), message


def test_version_without_known_layout_refused(tool, python, runtime_core, tmp_path):
    core, address = runtime_core
    message = refused(tool, python, patched_copy(core, address, 10, bytes([16]), tmp_path))  # minor -> 16
    assert re.search(r"Python 3\.16\S* .*is not supported", message), message
