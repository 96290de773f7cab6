"""The tree text output shows the expected frame lines for one thread."""
import json
import linecache
import re

from harness import describe, is_bootstrap

THREAD = "event-waiter"
STACK_HEADER = "stackscope.Stack (most recent call last):"


def truth_thread(truth, name):
    return next(t for t in truth["threads"] if t["name"] == name)


def tool_thread(snapshot, ident):
    found = [t for t in snapshot["threads"] if t["pthread_id"] == ident]
    assert found, "stackscope JSON has no thread with pthread_id %d" % ident
    return found[0]


def expected_frames(truth, show_hidden):
    """[(frame line text, source or None)] for the thread, from truth."""
    expected = []
    for frame in truth_thread(truth, THREAD)["frames"]:
        if is_bootstrap(frame, truth) and not show_hidden:
            continue
        heading = "%s in %s at %s:%s" % (frame["function"], frame["module"], frame["filename"], frame["line"])
        expected.append((heading, linecache.getline(frame["filename"], frame["line"]).strip() or None))
    return expected


def thread_block(text, tid):
    """The lines of one thread's section, from its `Thread <tid>` header on."""
    lines = text.splitlines()
    header = re.compile(r"Thread %d[ :]" % tid)
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    assert start is not None, "no header for thread %d in:\n%s" % (tid, text)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("Thread ")), len(lines))
    return lines[start:end]


def tree_block(run_cached, tool, snapshot, truth, *options):
    result = run_cached(tool, "--format", "tree", *options)
    assert result.returncode == 0, describe(result)
    json_thread = tool_thread(snapshot, truth_thread(truth, THREAD)["ident"])
    return result.stdout, thread_block(result.stdout, json_thread["tid"]), json_thread


def test_tree_thread_header(run_cached, tool, snapshot, truth):
    _, block, json_thread = tree_block(run_cached, tool, snapshot, truth)
    name = json_thread["name"] if json_thread["name"] is not None else "?"
    # Parked on an Event: the kernel sees it in a futex wait (one that is not the GIL's).
    assert block[0] == 'Thread %d "%s" (idle in futex):' % (json_thread["tid"], name)
    assert block[1] == STACK_HEADER


def test_tree_frame_lines(run_cached, tool, snapshot, truth):
    _, block, json_thread = tree_block(run_cached, tool, snapshot, truth)
    expected = expected_frames(truth, show_hidden=False)
    assert [line for line in block if line.startswith("╠ ")] == ["╠ " + heading for heading, _ in expected]
    assert [line for line in block if line.startswith("║ └ ")] == ["║ └ " + src for _, src in expected if src]


def test_tree_show_hidden(run_cached, tool, snapshot, truth):
    _, block, json_thread = tree_block(run_cached, tool, snapshot, truth, "--show-hidden")
    expected = expected_frames(truth, show_hidden=True)
    assert [line for line in block if line.startswith("╠ ")] == ["╠ " + heading for heading, _ in expected]


def test_ascii_tree(run_cached, tool, snapshot, truth):
    text, block, json_thread = tree_block(run_cached, tool, snapshot, truth, "--ascii")
    assert text.isascii()
    expected = expected_frames(truth, show_hidden=False)
    assert [line for line in block if line.startswith("+ ")] == ["+ " + heading for heading, _ in expected]
    source_lines = [line for line in block if line.startswith("| ")]
    for _, source in expected:
        if source:
            assert any(line.endswith(" " + source) for line in source_lines), (source, source_lines)


def test_flat_output(run_cached, tool, snapshot, truth):
    """A Python traceback's shape; the entries of with-blocks are test_with_blocks.py's."""
    result = run_cached(tool, "--format", "flat", "--no-contexts")
    assert result.returncode == 0, describe(result)
    json_thread = tool_thread(snapshot, truth_thread(truth, THREAD)["ident"])
    block = thread_block(result.stdout, json_thread["tid"])
    assert block[1] == "Traceback (most recent call last):"
    expected = []
    for frame in truth_thread(truth, THREAD)["frames"]:
        if not is_bootstrap(frame, truth):
            expected.append('  File "%s", line %s, in %s' % (frame["filename"], frame["line"], frame["function"]))
            source = linecache.getline(frame["filename"], frame["line"]).strip()
            if source:
                expected.append("    " + source)
    assert block[2:] == expected + ([""] if block[-1:] == [""] else [])


def test_format_aliases_and_ignored_options(run_cached, tool, snapshot):
    """--flat and --json are short for --format flat / json; --ascii and --show-hidden are
    accepted with JSON and change nothing (the option table's rule, as in gdb and lldb)."""
    flat = run_cached(tool, "--format", "flat")
    assert flat.returncode == 0 and flat.stdout, flat.stderr
    assert run_cached(tool, "--flat").stdout == flat.stdout
    assert run_cached(tool, "--flat", "--ascii").stdout == flat.stdout
    for options in (("--json",), ("--json", "--show-hidden"), ("--ascii", "--format", "json"),
                    ("--format=json", "--json", "--ascii", "--show-hidden")):
        result = run_cached(tool, *options)
        assert result.returncode == 0, describe(result)
        assert json.loads(result.stdout) == snapshot, options
