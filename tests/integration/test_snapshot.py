"""The tool's JSON (live and from a core) equals the truth the scenario recorded."""
import difflib
import linecache

import jsonschema

from harness import is_bootstrap


def paired_threads(snapshot, truth):
    """[(truth thread, tool thread or None)], matched by pthread_id == threading.get_ident()."""
    tool_threads = {t["pthread_id"]: t for t in snapshot["threads"]}
    return [(t, tool_threads.get(t["ident"])) for t in truth["threads"]]


def assert_frames_match(snapshot, truth, describe_truth, describe_tool):
    """Fail with unified diffs, per thread, of describe_*(frame) strings (outermost first)."""
    diffs = []
    for expected, actual in paired_threads(snapshot, truth):
        want = [describe_truth(f) for f in expected["frames"]]
        got = [describe_tool(f) for f in actual["frames"]] if actual else ["<thread missing>"]
        if want != got:
            diff = difflib.unified_diff(want, got, "truth", "stackscope", lineterm="", n=1)
            diffs.append("thread %s (%s):\n%s" % (expected["name"], expected["ident"], "\n".join(diff)))
    if diffs:
        raise AssertionError("stackscope differs from truth:\n" + "\n".join(diffs))


def test_json_matches_schema(snapshot, schema):
    jsonschema.Draft202012Validator(schema).validate(snapshot)


def test_process_fields(snapshot, truth):
    assert snapshot["schema_version"] == 1
    assert snapshot["python_version"] == truth["python_version"]
    assert snapshot["pid"] == truth["pid"]


def test_same_threads(snapshot, truth):
    assert sorted(t["pthread_id"] for t in snapshot["threads"]) == sorted(t["ident"] for t in truth["threads"])


def test_tid_is_native_id(snapshot, truth):
    pairs = paired_threads(snapshot, truth)
    assert [(t["name"], t["native_id"]) for t, _ in pairs] == [(t["name"], m and m["tid"]) for t, m in pairs]


def test_threads_read_in_full(snapshot):
    assert [(t["tid"], t["error"]) for t in snapshot["threads"] if t["error"] is not None] == []


def test_frames_match_truth(snapshot, truth):
    def line(f):
        return "%s %s:%s" % (f["name"], f["filename"], f["line"])

    assert_frames_match(snapshot, truth, line, line)


def test_functions_match_qualnames(snapshot, truth):
    """co_qualname on 3.11+; before, upstream's Class.method guess from self / cls."""

    def function(f):
        return f["function"]

    assert_frames_match(snapshot, truth, function, function)


def test_modules_match_truth(snapshot, truth):
    def module(f):
        return "%s %s" % (f["name"], f["module"])

    assert_frames_match(snapshot, truth, module, module)


def test_only_threading_bootstrap_hidden(snapshot, truth):
    def truth_hidden(f):
        return "%s hidden=%s" % (f["name"], is_bootstrap(f, truth))

    def tool_hidden(f):
        return "%s hidden=%s" % (f["name"], f["hidden"])

    assert_frames_match(snapshot, truth, truth_hidden, tool_hidden)


def test_source_lines(snapshot, truth):
    def truth_source(f):
        return "%s %r" % (f["name"], linecache.getline(f["filename"], f["line"]).strip() or None)

    def tool_source(f):
        return "%s %r" % (f["name"], f.get("source"))

    assert_frames_match(snapshot, truth, truth_source, tool_source)


def test_nobody_holds_gil_while_parked(snapshot):
    assert [t["tid"] for t in snapshot["threads"] if t["holds_gil"]] == []


def test_thread_names_match_truth(snapshot, truth):
    pairs = paired_threads(snapshot, truth)
    assert [(t["ident"], t["name"]) for t, _ in pairs] == [(t["ident"], m and m["name"]) for t, m in pairs]


def test_entry_frames(snapshot, truth):
    """Each thread's outermost frame was entered from C; from 3.11 on, plain Python-to-Python
    calls were not. Before 3.11 every Python call is its own eval-loop invocation."""
    if truth["threads"][0]["frames"][0]["qualname"] is None:  # 3.8-3.10
        assert [f["name"] for t in snapshot["threads"] for f in t["frames"] if not f["entry"]] == []
        return
    for thread in snapshot["threads"]:
        assert thread["frames"][0]["entry"], thread["name"]
    main = next(t for t in snapshot["threads"] if t["name"] == "main-renamed")
    recursion = [f["entry"] for f in main["frames"] if f["name"] == "recurse"]
    assert len(recursion) > 10 and not any(recursion)
