"""Cores whose interpreter files are gone.

Each interpreter is copied (with its libpython when it has one) into a temporary prefix, runs
the parked-threads scenario from there, is dumped, and the prefix is deleted.  From 3.13 on the
core alone must give the truth (_Py_DebugOffsets); before, the tool must name the missing file
and the options, and succeed with them.  A file of another build is refused, naming both build
ids, unless --force is given.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import (SCENARIO_DIR, ScenarioProcess, clean_env, describe, enable_core_dumps, kernel_core_pattern, kill_group, make_core,
                     run_tool, spawn, stderr_is_one_line)
from test_snapshot import assert_frames_match, paired_threads

pytestmark = pytest.mark.column("postmortem")

NOT_PYTHON, BAD_FILE = 3, 5


@dataclass
class RelocatedCore:
    core: Path
    truth: dict
    original_exe: Path
    mapped_exe: str  # the deleted copy the core names
    original_lib: Path = None  # libpython, when the interpreter has one
    mapped_lib: str = None

    @property
    def runtime_file(self):
        """The original file that holds _PyRuntime, and the name the core maps it under."""
        return (self.original_lib, self.mapped_lib) if self.original_lib else (self.original_exe, self.mapped_exe)


def needed_libpython(executable):
    """The libpython soname the executable links against, or None (a static interpreter)."""
    out = subprocess.run(["readelf", "-d", str(executable)], capture_output=True, text=True, check=True).stdout
    found = re.findall(r"\(NEEDED\)\s+Shared library: \[(libpython[^\]]+)\]", out)
    return found[0] if found else None


def copy_interpreter(python, prefix):
    """Copies the interpreter (and its libpython) under prefix; returns the RelocatedCore to
    fill in and the environment that runs the copy."""
    original = Path(os.path.realpath(python))
    prefixes = subprocess.run(
        [str(original), "-c", "import sys, sysconfig; print(sys.prefix); print(sys.exec_prefix); print(sysconfig.get_config_var('LIBDIR'))"],
        env=clean_env(), capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    env = clean_env(PYTHONHOME="%s:%s" % (prefixes[0], prefixes[1]))
    (prefix / "bin").mkdir(parents=True)
    copy = prefix / "bin" / original.name
    shutil.copy2(original, copy)
    result = RelocatedCore(core=None, truth=None, original_exe=original, mapped_exe=str(copy))
    soname = needed_libpython(original)
    if soname:
        (prefix / "lib").mkdir()
        result.original_lib = Path(prefixes[2]) / soname
        shutil.copy2(result.original_lib, prefix / "lib" / soname)
        result.mapped_lib = str(prefix / "lib" / soname)
        env["LD_LIBRARY_PATH"] = str(prefix / "lib")  # before the original's RUNPATH
    return result, env


@pytest.fixture(scope="session")
def relocated(python, interp, tmp_path_factory):
    work = tmp_path_factory.mktemp("relocated-%s-" % interp.label)
    prefix = work / "prefix"
    result, env = copy_interpreter(python, prefix)
    scenario = ScenarioProcess(result.mapped_exe, work / "scenario", env=env).start()
    try:
        maps = Path("/proc/%d/maps" % scenario.pid).read_text()
        for mapped in filter(None, [result.mapped_exe, result.mapped_lib]):
            assert mapped in maps, "the scenario does not run from the copy %s:\n%s" % (mapped, maps)
        result.core = make_core(scenario.pid, work / "core")
        result.truth = scenario.truth
    finally:
        scenario.stop()
        shutil.rmtree(prefix)
    yield result
    result.core.unlink()


@pytest.fixture(scope="session")
def relocated_crash(python, interp, tmp_path_factory):
    """A kernel core of the crash scenario (SIGSEGV on a worker) run from a deleted copy."""
    pattern = kernel_core_pattern()
    if pattern.startswith("|"):
        pytest.skip("!!! KERNEL CORES UNAVAILABLE: core_pattern pipes cores to %s" % pattern)
    work = tmp_path_factory.mktemp("relocated-crash-%s-" % interp.label)
    prefix = work / "prefix"
    result, env = copy_interpreter(python, prefix)
    argv = [result.mapped_exe, str(SCENARIO_DIR / "crash_threads.py"), str(work / "truth.json"), "segv", "thread"]
    try:
        with open(work / "scenario.log", "wb") as log:
            proc = spawn(argv, cwd=str(work), env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=enable_core_dumps)
        try:
            returncode = proc.wait(timeout=120)
        finally:
            kill_group(proc)
    finally:
        shutil.rmtree(prefix)
    log_text = (work / "scenario.log").read_text(errors="replace")[-2000:]
    assert returncode == -signal.SIGSEGV, "scenario exited with %s: %s" % (returncode, log_text)
    cores = [p for p in work.iterdir() if re.fullmatch(r"core(\.\d+)?", p.name)]
    assert len(cores) == 1, "no core in %s: %s" % (work, log_text)
    result.core = cores[0]
    result.truth = json.loads((work / "truth.json").read_text())
    yield result
    result.core.unlink()


def relocation_args(rel, runtime_file=None):
    """Options pointing the tool at the original files (or at `runtime_file` for the runtime's)."""
    if rel.original_lib:
        lib = runtime_file or rel.original_lib
        return ["--executable", rel.original_exe, "--lib-search-path", "/nonexistent:%s" % lib.parent]
    return ["--executable", runtime_file or rel.original_exe]


def assert_matches_truth(result, truth):
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)

    def line(f):
        return "%s %s %s %s:%s" % (f["function"], f["name"], f["module"], f["filename"], f["line"])

    assert_frames_match(snapshot, truth, line, line)
    pairs = paired_threads(snapshot, truth)
    assert [(t["ident"], t["name"]) for t, _ in pairs] == [(t["ident"], m and m["name"]) for t, m in pairs]
    assert [t["error"] for t in snapshot["threads"] if t["error"]] == []


def test_core_alone(tool, relocated, interp):
    """3.13+: everything from the core; before: one clear error naming the file and the options."""
    result = run_tool(tool, ["core", relocated.core, "--format", "json"])
    if interp.version >= (3, 13):
        assert_matches_truth(result, relocated.truth)
        return
    assert result.returncode == NOT_PYTHON, describe(result)
    assert stderr_is_one_line(result), describe(result)
    assert relocated.runtime_file[1] in result.stderr, describe(result)
    assert "--lib-search-path" in result.stderr and "--executable" in result.stderr, describe(result)


def test_relocated_files(tool, relocated):
    result = run_tool(tool, ["core", relocated.core, "--format", "json"] + relocation_args(relocated))
    assert_matches_truth(result, relocated.truth)


def build_id_note(data):
    """(offset of the GNU build id's bytes, their length, whether the first page holds them)."""
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    for index in range(phnum):
        p_type, _, offset, _, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, phoff + 56 * index)
        at = offset
        while p_type == 4 and at + 12 <= offset + filesz:
            namesz, descsz, note_type = struct.unpack_from("<III", data, at)
            desc = at + 12 + (namesz + 3) // 4 * 4
            if note_type == 3 and data[at + 12:at + 12 + namesz] == b"GNU\0":
                return desc, descsz, desc + descsz <= 4096
            at = desc + (descsz + 3) // 4 * 4
    raise AssertionError("no build id note")


@pytest.fixture
def other_build(relocated, tmp_path):
    """A copy of the runtime's file as another build would differ: another build id, other
    ELF headers (an e_ident padding byte).  Returns (path, its id, the original's id, whether
    the core can hold the original's id)."""
    original = relocated.runtime_file[0]
    data = bytearray(original.read_bytes())
    desc, size, in_header_page = build_id_note(data)
    original_id = data[desc:desc + size].hex()
    data[desc] ^= 0xFF
    data[15] ^= 0x5A
    (tmp_path / "other").mkdir()
    path = tmp_path / "other" / original.name
    path.write_bytes(bytes(data))
    return path, data[desc:desc + size].hex(), original_id, in_header_page


def test_other_build_refused(tool, relocated, other_build):
    path, other_id, original_id, core_has_id = other_build
    result = run_tool(tool, ["core", relocated.core] + relocation_args(relocated, path))
    assert result.returncode == BAD_FILE, describe(result)
    assert stderr_is_one_line(result), describe(result)
    assert str(path) in result.stderr and other_id in result.stderr and "--force" in result.stderr, describe(result)
    if core_has_id:
        assert original_id in result.stderr, describe(result)
    else:  # the note lies outside the header page, the only page of the file a core keeps
        assert "ELF headers differ" in result.stderr, describe(result)


def test_other_build_forced(tool, relocated, other_build):
    path = other_build[0]
    result = run_tool(tool, ["core", relocated.core, "--format", "json", "--force"] + relocation_args(relocated, path))
    assert_matches_truth(result, relocated.truth)


def test_crash_core_alone(tool, relocated_crash, interp):
    """A kernel core of a crash, binaries gone: the crashed worker first, at its crash line."""
    rel = relocated_crash
    args = ["core", rel.core, "--format", "json"]
    if interp.version < (3, 13):
        result = run_tool(tool, args)
        assert result.returncode == NOT_PYTHON and rel.runtime_file[1] in result.stderr, describe(result)
        args += relocation_args(rel)
    result = run_tool(tool, args)
    assert result.returncode == 0, describe(result)
    snapshot = json.loads(result.stdout)
    crasher = snapshot["threads"][0]
    assert (crasher["pthread_id"], crasher["crash"]["name"], crasher["crash"]["address"]) == (rel.truth["crasher"]["ident"], "SIGSEGV", 0)
    truth_frames = next(t["frames"] for t in rel.truth["threads"] if t["ident"] == rel.truth["crasher"]["ident"])
    assert [(f["name"], f["line"]) for f in crasher["frames"][:len(truth_frames)]] == [(f["name"], f["line"]) for f in truth_frames]
    assert [t["error"] for t in snapshot["threads"] if t["error"]] == []
