"""Live targets whose files are not what this machine's paths show: ELF files replaced in
place (read through /proc/PID/map_files), a process in another PID namespace (tids through
NSpid), and files visible only in the target's mount namespace (through /proc/PID/root)."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import SCENARIO_DIR, ScenarioProcess, clean_env, describe, run_tool, wait_until_all_sleeping
from interpreters import INTERPRETERS
from test_snapshot import assert_frames_match

pytestmark = pytest.mark.column("live-edge")


def tool_json(tool, pid, *options):
    # What the kernel says a thread is doing is part of the output: let threads that an
    # earlier stopped read interrupted get back into their blocking calls first.
    wait_until_all_sleeping(int(pid))
    result = run_tool(tool, ["pid", pid, "--format", "json"] + list(options))
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def interpreter_facts(python):
    code = "import sys, json; print(json.dumps([sys.prefix, sys.exec_prefix]))"
    prefix, exec_prefix = json.loads(subprocess.check_output([str(python), "-c", code], env=clean_env(), text=True))
    ldd = subprocess.run(["ldd", str(python)], capture_output=True, text=True).stdout
    libpython = re.search(r"(libpython\S+) => (\S+)", ldd)
    return prefix, exec_prefix, Path(libpython.group(2)) if libpython else None


def other_python_elf(interp):
    """An ELF file of another interpreter that defines _PyRuntime elsewhere (the "upgrade")."""
    for other in INTERPRETERS:
        path, _ = other.locate()
        if path and other.version != interp.version and other.label in ("3.11-debian", "3.14", "3.15"):
            return Path(os.path.realpath(path))
    pytest.skip("!!! NO OTHER STATIC PYTHON to replace files with (need /usr/bin/python3.11 or 3.14/3.15)")


def replace_in_place(path, replacement):
    """What a package upgrade does: a new file renamed over the old name."""
    staged = path.with_name(path.name + ".new")
    shutil.copyfile(replacement, staged)
    os.chmod(staged, 0o755)
    os.rename(staged, path)


def copy_interpreter(python, prefix):
    """Copies the executable (and its libpython) under prefix/bin (prefix/lib); returns the
    executable, the copied files and the environment that makes the copy run with them."""
    home, exec_home, libpython = interpreter_facts(python)
    (prefix / "bin").mkdir(parents=True)
    executable = prefix / "bin" / Path(os.path.realpath(python)).name
    shutil.copy2(os.path.realpath(python), executable)
    env = clean_env(PYTHONHOME="%s:%s" % (home, exec_home))
    files = [executable]
    if libpython:
        (prefix / "lib").mkdir()
        files.append(prefix / "lib" / libpython.name)
        shutil.copy2(libpython, files[-1])
        env["LD_LIBRARY_PATH"] = str(prefix / "lib")
    return executable, files, env


def frame_line(f):
    return "%s %s:%s" % (f["name"], f["filename"], f["line"])


def test_files_replaced_in_place(tool, python, interp, tmp_path):
    """The interpreter (and its libpython) are replaced by another version's files while the
    target runs: the files it has mapped are read through map_files, not the new ones."""
    executable, files, env = copy_interpreter(python, tmp_path / "prefix")
    scenario = ScenarioProcess(executable, tmp_path / "run", env=env).start()
    try:
        maps = Path("/proc/%d/maps" % scenario.pid).read_text()
        for mapped in files:
            assert str(mapped) in maps, "the copy is not what runs: %s" % mapped
        before = tool_json(tool, scenario.pid)
        # Against the scenario's own account before anything is replaced: then the reads
        # after it must equal it.
        assert before["python_version"] == scenario.truth["python_version"]
        assert sorted(t["pthread_id"] for t in before["threads"]) == sorted(t["ident"] for t in scenario.truth["threads"])
        assert_frames_match(before, scenario.truth, frame_line, frame_line)
        replacement = other_python_elf(interp)
        for mapped in files:
            replace_in_place(mapped, replacement)
        maps = Path("/proc/%d/maps" % scenario.pid).read_text()
        assert "%s (deleted)" % executable in maps
        wait_until_all_sleeping(scenario.pid)
        assert tool_json(tool, scenario.pid) == before
        assert tool_json(tool, scenario.pid, "--no-block") == before
    finally:
        scenario.stop()


def namespace_tids(pid):
    """{tid in the target's namespace: tid here} from every thread's NSpid line."""
    out = {}
    for task in Path("/proc/%d/task" % pid).iterdir():
        line = next(l for l in (task / "status").read_text().splitlines() if l.startswith("NSpid:"))
        ids = [int(x) for x in line.split()[1:]]
        out[ids[-1]] = ids[0]
    return out


def child_of(pid):
    children = Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()
    assert len(children) == 1, children
    return int(children[0])


@pytest.mark.parametrize("no_block", [False, True], ids=["stopped", "no-block"])
def test_other_pid_namespace(tool, python, tmp_path, no_block):
    """Tids the runtime records (native_thread_id, or glibc's struct pthread) are the target's
    own; the tool reports ours, mapped through NSpid."""
    if not shutil.which("unshare"):
        pytest.skip("!!! UNSHARE MISSING (util-linux)")
    scenario = ScenarioProcess(python, tmp_path, command_prefix=["unshare", "--pid", "--fork", "--mount-proc"]).start()
    try:
        pid = child_of(scenario.pid)
        wait_until_all_sleeping(pid)
        mapping = namespace_tids(pid)
        assert scenario.truth["pid"] == 1 and mapping[1] == pid
        snapshot = tool_json(tool, pid, *(["--no-block"] if no_block else []))
        want = sorted((t["ident"], mapping[t["native_id"]]) for t in scenario.truth["threads"])
        got = sorted((t["pthread_id"], t["tid"]) for t in snapshot["threads"])
        assert got == want
        assert snapshot["pid"] == pid
    finally:
        scenario.stop()


def test_files_in_the_targets_root(tool, python, tmp_path):
    """The interpreter, its libpython and the script exist only in the target's mount
    namespace (a tmpfs mounted there): the ELF files are read through the mappings and the
    source lines through /proc/PID/root."""
    staging, hidden = tmp_path / "staging", tmp_path / "hidden"
    hidden.mkdir()
    staged_executable, staged_files, env = copy_interpreter(python, staging)
    script = SCENARIO_DIR / "parked_threads.py"
    shutil.copy2(script, staging)
    shutil.copy2(SCENARIO_DIR / "scenario_support.py", staging)  # the helper it imports, beside it
    if "LD_LIBRARY_PATH" in env:
        env["LD_LIBRARY_PATH"] = str(hidden / "lib")
    prefix = ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs tmpfs "$1" && cp -a "$2"/. "$1"/ && shift 2 && exec "$@"',
              "sh", hidden, staging]
    executable = hidden / staged_executable.relative_to(staging)
    scenario = ScenarioProcess(executable, tmp_path / "run", script=hidden / script.name, command_prefix=prefix, env=env)
    scenario.start()
    try:
        shutil.rmtree(staging)  # nothing the target uses is left in this mount namespace
        assert not (hidden / script.name).exists() and not executable.exists(), "the mount leaked into this namespace"
        maps = Path("/proc/%d/maps" % scenario.pid).read_text()
        assert all(str(hidden / f.relative_to(staging)) in maps for f in staged_files), maps
        snapshot = tool_json(tool, scenario.pid)
        assert snapshot["python_version"] == scenario.truth["python_version"]
        lines = script.read_text().splitlines()
        frames = [f for t in snapshot["threads"] for f in t["frames"] if f["filename"] == str(hidden / script.name)]
        assert len(frames) > 10
        assert [(f["line"], f["source"]) for f in frames] == [(f["line"], lines[f["line"] - 1].strip()) for f in frames]
    finally:
        scenario.stop()
