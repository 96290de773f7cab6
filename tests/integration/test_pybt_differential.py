"""Differential test: the tool's frames equal those of CPython's own `py-bt` (gdb + the
python-gdb.py shipped with the interpreter) on the same parked scenario process.

py-bt runs once per interpreter (a session fixture), on the live shared scenario: gdb
stops the process while attached and detaches at the end; the target is checked to be
left running and untraced.  Per thread, matched by kernel thread id (gdb's LWP == the
tool's `tid`), the Python frames py-bt prints (`File "...", line N, in NAME` entries
only; pybt.py says what else it prints and why that is not a Python frame), innermost
first and at most pybt.MAX_FRAMES, must equal the tool's innermost frames (co_filename,
co_name, line), reversed.  The tool hides nothing in JSON (`hidden` is only a flag), so
no frame is dropped on its side either.

The tool's side is the usual `snapshot` (live and core); py-bt's side is always the live
process, whose stacks do not change while it is parked.  py-bt itself is also checked
against the scenario's truth, so a disagreement shows which side is wrong.

Python 3.8: its python-gdb.py has bpo-45838 (line numbers too high by 256 per negative
line-table increment).  The comparison uses py-bt with 3.9's fix of that function
applied in the same gdb session; a separate test checks that the fix moved only lines,
and only by multiples of 256.

All of these tests are in the matrix column "pybt", whatever the snapshot's mode: an
interpreter py-bt cannot read (no python-gdb.py, no debug info) skips loudly in that
column only, not in the tool's live/core columns.
"""
import difflib
import shutil

import pytest

import pybt
from interpreters import interpreter_params
from harness import wait_until_all_sleeping

pytestmark = [
    pytest.mark.column("pybt"),
    # The pyenv builds carry python-gdb.py and DWARF; Debian's stripped python3.11 and the
    # unpacked 3.14/3.15 do not, so py-bt could not read them.
    pytest.mark.parametrize(
        "interp", interpreter_params(lambda i: i.pyenv_version is not None), indirect=True, scope="session"
    ),
]


@pytest.fixture(scope="session")
def gdb():
    path = shutil.which("gdb")
    if path is None:
        pytest.skip("!!! GDB MISSING: no gdb on PATH, py-bt cannot be run")
    return path


@pytest.fixture(scope="session")
def pybt_run(gdb, scenario, python, truth):
    script, tried = pybt.find_gdb_script(scenario.pid, python, truth["python_version"])
    if script is None:
        pytest.skip("!!! PYTHON-GDB.PY MISSING for %s: tried %s" % (python, ", ".join(tried)))
    return pybt.run_pybt(gdb, scenario.pid, script, scenario.workdir)


@pytest.fixture
def pybt_threads(pybt_run, python):
    """{lwp: PyBtThread} of py-bt (with the bpo-45838 fix where needed)."""
    if pybt_run.debug_info != "yes":
        pytest.skip("!!! NO DEBUG INFO for %s in gdb (%s): py-bt cannot read frames" % (python, pybt_run.debug_info))
    return pybt_run.fixed


def frame_line(filename, name, line):
    return "%s %s:%s" % (name, filename, line)


def pybt_lines(thread):
    """py-bt's Python frames of a thread, outermost first; frames it could not read in place."""
    frames = thread.frames() if thread else []
    lines = [frame_line(*f) if f[0] is not None else "<py-bt: %s>" % f[1] for f in reversed(frames)]
    return lines or ["<no Python frame from py-bt>"]


def diff_threads(pairs, left, right):
    """Unified diffs of [(label, left lines, right lines)] that differ."""
    diffs = []
    for label, want, got in pairs:
        if want != got:
            diffs.append("%s:\n%s" % (label, "\n".join(difflib.unified_diff(want, got, left, right, lineterm="", n=1))))
    return diffs


def test_gdb_leaves_target_running_and_untraced(pybt_run, scenario):
    assert pybt_run.left_behind == [], "gdb left threads traced or stopped (SIGCONT sent):\n" + pybt_run.describe()
    assert pybt_run.returncode == 0, pybt_run.describe()
    assert scenario.ping(), "the scenario no longer runs Python code after gdb detached"
    wait_until_all_sleeping(scenario.pid)  # parked again for the tests that follow


def test_pybt_read_every_thread(pybt_threads, pybt_run, truth):
    """py-bt reported every thread, found Python frames in each and lost none."""
    problems = {
        lwp: {"unreadable": t.of_kind(pybt.UNREADABLE), "errors": t.of_kind(pybt.ERROR),
              "no Python frame": t.no_python_frame}
        for lwp, t in sorted(pybt_threads.items())
        if t.of_kind(pybt.UNREADABLE) or t.of_kind(pybt.ERROR) or t.no_python_frame
    }
    assert problems == {}, pybt_run.describe()
    assert sorted(pybt_threads) == sorted(t["native_id"] for t in truth["threads"]), pybt_run.describe()


def test_pybt_matches_truth(pybt_threads, pybt_run, truth):
    """py-bt (and this parser) agree with what the scenario recorded from inside."""
    pairs = [
        ("thread %s (LWP %s)" % (t["name"], t["native_id"]),
         [frame_line(f["filename"], f["name"], f["line"]) for f in t["frames"][-pybt.MAX_FRAMES:]],
         pybt_lines(pybt_threads.get(t["native_id"])))
        for t in truth["threads"]
    ]
    diffs = diff_threads(pairs, "truth", "py-bt")
    assert diffs == [], "\n".join(diffs) + "\n" + pybt_run.describe()


def test_line_fix_changes_only_bpo45838_lines(pybt_threads, pybt_run):
    """Where the shipped script reads line increments as unsigned (3.8), the fix lowers lines
    by multiples of 256 and changes nothing else; elsewhere no fix is applied."""
    if not pybt_run.fix_applied:
        assert pybt_run.fixed is pybt_run.stock
        return
    assert sorted(pybt_run.stock) == sorted(pybt_threads)
    unexplained = []
    for lwp, thread in sorted(pybt_threads.items()):
        stock, fixed = pybt_run.stock[lwp].frames(limit=None), thread.frames(limit=None)
        if len(stock) != len(fixed):
            unexplained.append((lwp, "frame count", len(stock), len(fixed)))
        for before, after in zip(stock, fixed):
            raised_by = (before[2] - after[2]) if None not in (before[2], after[2]) else None
            if before[:2] != after[:2] or raised_by is None or raised_by < 0 or raised_by % 256:
                unexplained.append((lwp, before, after))
    assert unexplained == [], pybt_run.describe()


def test_frames_match_pybt(snapshot, pybt_threads, pybt_run):
    tool_threads = {t["tid"]: t for t in snapshot["threads"]}
    assert None not in tool_threads, "threads without tid: %s" % [t["name"] for t in snapshot["threads"]]
    assert sorted(tool_threads) == sorted(pybt_threads), pybt_run.describe()
    pairs = [
        ("thread %s (LWP %s)" % (thread["name"], tid),
         pybt_lines(pybt_threads.get(tid)),
         [frame_line(f["filename"], f["name"], f["line"]) for f in thread["frames"][-pybt.MAX_FRAMES:]])
        for tid, thread in sorted(tool_threads.items())
    ]
    diffs = diff_threads(pairs, "py-bt", "stackscope")
    note = " (py-bt with the bpo-45838 line fix)" if pybt_run.fix_applied else ""
    assert diffs == [], "stackscope differs from py-bt%s:\n%s" % (note, "\n".join(diffs))
