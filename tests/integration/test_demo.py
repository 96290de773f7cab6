"""The README's first command, scripts/demo.sh: it installs what it needs (a no-op here), builds
the CLI (up to date here), starts demo/demo_app.py and prints its tree, one Task with its
variables, its asyncio task tree, its locks and its native frames, and ends the program.

Truth from the demo program's construction: the names it gives its threads and tasks, the
TaskGroup its workers hang under, the two fetches its crawler gathers, the asyncio.Lock its
cache writer holds and its cache reader waits for, the threading.Lock its cruncher holds."""
import re
import subprocess

import pytest

from harness import REPO_ROOT, clean_env

pytestmark = pytest.mark.column("demo")

SECTIONS = ["", " --object ", " --tasks ", " --locks ", " --native "]


@pytest.fixture(scope="module")
def demo():
    run = subprocess.run(["./scripts/demo.sh"], cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    sections = re.split(r"^== stackscope pid \d+", run.stdout, flags=re.M)[1:]
    assert len(sections) == len(SECTIONS), run.stdout[:3000]
    for section, option in zip(sections, SECTIONS):
        assert section.startswith(option) or (not option and section.startswith("  (")), section[:200]
    return dict(zip(SECTIONS, sections))


def test_the_tree_names_every_thread(demo):
    for name in ("MainThread", "example", "worker-1", "sleeper", "cruncher", "event-loop"):
        assert re.search(r'^Thread \d+ "%s"' % name, demo[""], re.M), name
    # upstream's example: an ExitStack inside two @contextmanager generators, and its callback
    assert "with stack:  # stack: ExitStack" in demo[""]
    assert "stack.callback(__main__.some_cb, 10, 'hi', answer=42)" in demo[""]


def test_the_task_is_shown_with_its_variables(demo):
    text = demo[" --object "]
    assert "<Task pending name='request'" in text
    assert "handle_request in __main__" in text and "url = 'https://example.org/'" in text


def test_the_task_tree(demo):
    text = demo[" --tasks "]
    assert re.search(r"^Event loop 0x[0-9a-f]+ on thread \d+ \"event-loop\": \d+ tasks$", text, re.M)
    pool = text[text.index("stackscope.Stack of <Task pending name='pool'"):]
    pool = pool[:pool.index("\n\nstackscope.Stack of ")] if "\n\nstackscope.Stack of " in pool else pool
    assert "async with asyncio.TaskGroup() as pool:" in pool
    assert [m for m in re.findall(r"── <Task pending name='(worker-\d)'", pool)] == ["worker-0", "worker-1",
                                                                                    "worker-2"]
    crawler = text[text.index("stackscope.Stack of <Task pending name='crawler'"):]
    assert "# awaits 2 tasks" in crawler.split("\n\nstackscope.Stack of ")[0]


def test_the_locks(demo):
    text = demo[" --locks "]
    locks = text[text.index("\nLocks:\n"):]
    assert re.search(r"asyncio\.Lock 0x[0-9a-f]+ \(locked\) held by task 0x[0-9a-f]+ 'cache-writer' "
                     r"\(async with lock: at \S+demo_app\.py:\d+\); waiting for it: task 0x[0-9a-f]+ "
                     r"'cache-reader'", locks), locks
    assert re.search(r'lock 0x[0-9a-f]+ \(locked\) held by thread \d+ "cruncher"', locks), locks


def test_the_native_frames(demo):
    assert "[native] " in demo[" --native "]
