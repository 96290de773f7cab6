"""`--object ADDR`: the stacks of suspended generators, coroutines, async generators, their
awaitables, asyncio Tasks and Futures and threading.Thread objects, against the truth that
scenarios/suspended_objects.py records in-process, live and from a core, on every interpreter;
and the tree text against upstream stackscope's (tests/third_party/stackscope) on 3.8-3.12.

One scenario process and one core per interpreter; the tool reads all the scenario's objects in
one run per mode (`--object A --object B ...`, every other address in decimal), plus one run of
the objects that are no error (exit 0).

Upstream oracle, normalised (only) as follows; everything else must be equal below the header:
- leaf line: upstream shows an awaited Future or Task as `╚ <_asyncio.FutureIter object at 0x…>`;
  the tool shows the Future or Task it iterates, so where the truth's leaf is a Future or Task the
  tool's leaf line is compared with the truth's leaf repr instead: CPython's repr of it (computed
  in-process), bounded as reprlib bounds it with the tool's limits (issue 15);
- what upstream nests under a context (a @contextmanager's inner stack, `║ │ ` lines, and an
  ExitStack's children) is dropped: the tool does not elaborate contexts yet. The context lines
  themselves (`║ ├ with self._cond:  # _: Condition (line 555)`) must be equal;
- Task object: upstream shows a Task as a leaf with no frames; the tool shows its coroutine's
  stack, so the oracle text of the `task` and `py_task` cases is upstream's
  extract(task.get_coro()) (a choice of the object the scenario gives upstream, not a text edit).
Function names needed no normalisation: the scenario's functions are top-level functions and
methods, for which co_qualname (3.11+) equals upstream's Class.method guess.
"""
import json
import linecache
import re

import jsonschema
import pytest

from interpreters import interpreter_params
from harness import ScenarioProcess, clean_env, describe, make_core, run_tool, wait_until_all_sleeping, without_process_header

SCRIPT = "suspended_objects.py"
HEADER = "stackscope.Stack of "
ANY_HEADER = "stackscope.Stack"  # `stackscope.Stack (most recent call last):` is upstream's header without a root
GENERATOR_LIKE = {"generator", "coroutine", "async_generator", "async_generator_asend", "async_generator_athrow",
                  "coroutine_wrapper"}

# What each case of the scenario is, independently of the truth it writes: (type, state, the
# `# AT:` tags of its frames in this file outermost first ("*" for frames of other files, "H" for
# threading's hidden bootstrap frames), leaf type, error). Checked against the truth so that a
# scenario that stops doing what it claims fails here, not in a comparison with the tool.
RUNNING_THREAD = ["run_generator", "running_gen", "*", "*"]
EXPECTED = {
    "yield_from_chain": ("generator", "suspended", ["gen_outer", "gen_middle", "gen_inner"], None, False),
    "coro_custom_await": ("coroutine", "suspended", ["coro_a", "coro_b", "Awaitable.__await__"], None, False),
    "coro_awaits_future": ("coroutine", "suspended", ["awaits_future"], "Future", False),
    "coro_awaits_task": ("coroutine", "suspended", ["awaits_task"], "Task", False),
    "coro_awaits_auto_named_task": ("coroutine", "suspended", ["awaits_task"], "Task", False),
    "coro_awaits_gather": ("coroutine", "suspended", ["awaits_gather"], "_GatheringFuture", False),
    "asend_driver": ("coroutine", "suspended", ["drives_asend", "agen_body"], "Future", False),
    "asend": ("async_generator_asend", "suspended", ["agen_body"], "Future", False),
    "async_generator": ("async_generator", "suspended", ["agen_body"], "Future", False),
    "athrow": ("async_generator_athrow", "suspended", ["agen_catches"], "Future", False),
    "wrapper_driver": ("generator", "suspended", ["drives_wrapper", "wrapped_coro", "Awaitable.__await__"], None, False),
    "coroutine_wrapper": ("coroutine_wrapper", "suspended", ["wrapped_coro", "Awaitable.__await__"], None, False),
    "coro_awaits_types_coroutine": ("coroutine", "suspended", ["awaits_legacy", "legacy_coroutine"], None, False),
    "types_coroutine_generator": ("generator", "suspended", ["legacy_coroutine"], None, False),
    "unknown_awaitable_leaf": ("coroutine", "suspended", ["awaits_weird"], "list_iterator", False),
    "generator_leaf_list_iterator": (
        "coroutine", "suspended", ["awaits_yields_from_iterator", "YieldsFromIterator.__await__"], "list_iterator", False),
    "not_started_gen": ("generator", "created", ["not_started_gen"], None, False),
    "not_started_gen_decorated": ("generator", "created", ["not_started_gen_decorated"], None, False),
    "not_started_coro": ("coroutine", "created", ["not_started_coro"], None, False),
    "not_started_coro_decorated": ("coroutine", "created", ["not_started_coro_decorated"], None, False),
    "exhausted_gen": ("generator", "finished", [], None, False),
    "exhausted_coro": ("coroutine", "finished", [], None, False),
    "not_started_agen": ("async_generator", "created", ["not_started_agen"], None, False),
    "exhausted_agen": ("async_generator", "finished", [], None, False),
    "deep_await_chain": ("coroutine", "suspended", ["deep_await"] * 50 + ["deep_await_bottom", "Awaitable.__await__"],
                         None, False),
    "running_gen": ("generator", "running", RUNNING_THREAD[1:], None, False),
    "thread": ("Thread", None, ["H", "H", "H"] + RUNNING_THREAD, None, False),
    "running_coro": ("coroutine", "running", ["running_coro_outer", "running_coro_inner", "*", "*"], None, False),
    "running_coro_inner": ("coroutine", "running", ["running_coro_inner", "*", "*"], None, False),
    "main_thread": ("_MainThread", None, ["*", "main"], None, False),
    "task": ("Task", None, ["task_body", "task_inner"], "Future", False),
    "future_pending": ("Future", None, [], "Future", False),
    "future_subclass": ("NestedFuture", None, [], "NestedFuture", False),
    "thread_subclass": ("Worker", None, ["H", "H", "local_thread_run", "*", "*"], None, False),
    "future_finished": ("Future", None, [], "Future", False),
    "future_cancelled": ("Future", None, [], "Future", False),
    "py_future": ("Future", None, [], "Future", False),  # asyncio.futures._PyFuture
    "py_task": ("Task", None, ["task_body", "task_inner"], "Future", False),  # asyncio.tasks._PyTask
    "coro_awaits_py_future": ("coroutine", "suspended", ["awaits_future", "*"], None, False),  # + Future.__await__
    "future_exception": ("Future", None, [], "Future", False),
    "future_one_callback": ("Future", None, [], "Future", False),
    "future_two_callbacks": ("Future", None, [], "Future", False),
    "py_future_callbacks": ("Future", None, [], "Future", False),
    "future_builtin_method_callbacks": ("Future", None, [], "Future", False),
    "future_builtin_function_callbacks": ("Future", None, [], "Future", False),
    "task_finished": ("Task", None, [], None, False),
    "task_cancelling": ("Task", None, ["task_body", "task_inner"], "Future", False),
    "not_a_generator": ("dict", None, [], None, True),
    "unreadable_address": (None, None, [], None, True),
}
CASES = list(EXPECTED)
# Upstream's text is no oracle for the error cases (it shows any object as a leaf) nor for the
# main thread (the scenario would read upstream's own frames there).
ORACLE_CASES = [c for c in CASES if not EXPECTED[c][4] and c != "main_thread"]
FUTURE_TYPES = {"Future", "Task", "_GatheringFuture"}
# Upstream stackscope's own tests pass on 3.8-3.12 (the oracle is not asked elsewhere).
UPSTREAM_INTERPRETERS = pytest.mark.parametrize(
    "interp", interpreter_params(lambda i: (3, 8) <= i.version <= (3, 12)), indirect=True, scope="session")


@pytest.fixture(scope="session")
def objects_scenario(python, interp, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("objects-%s-" % interp.label)
    env = clean_env(STACKSCOPE_UPSTREAM_ORACLE="1")
    target = ScenarioProcess(python, workdir, script=SCRIPT, env=env).start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def objects_truth(objects_scenario):
    return objects_scenario.truth


@pytest.fixture(scope="session")
def objects_core(objects_scenario):
    core = make_core(objects_scenario.pid, objects_scenario.workdir / "core")
    wait_until_all_sleeping(objects_scenario.pid)
    yield core
    core.unlink()


@pytest.fixture
def objects_target(request, mode, objects_scenario, python):
    if mode.endswith("live"):
        wait_until_all_sleeping(objects_scenario.pid)
        return ["pid", objects_scenario.pid]
    return ["core", request.getfixturevalue("objects_core"), "--executable", python]


def object_options(entries):
    """--object per truth entry, in order; every other address in decimal (both are accepted)."""
    options = []
    for index, entry in enumerate(entries):
        options += ["--object", str(entry["address"]) if index % 2 else hex(entry["address"])]
    return options


@pytest.fixture
def run_objects(tool, tool_runs, objects_target, objects_truth):
    """run(entries, *options): the tool on those truth entries' objects (each run once a session)."""

    def run(entries, *options):
        args = list(objects_target) + object_options(entries) + list(options)
        key = (str(tool),) + tuple(str(a) for a in args)
        if key not in tool_runs:
            tool_runs[key] = run_tool(tool, args, timeout=120)
        return tool_runs[key]

    return run


def good(truth):
    return [entry for entry in truth["objects"] if not entry["error"]]


@pytest.fixture
def all_objects(run_objects, objects_truth):
    """The tool's JSON for every object of the scenario (errors included: exit 1)."""
    result = run_objects(objects_truth["objects"], "--format", "json")
    assert result.returncode in (0, 1), describe(result)
    return json.loads(result.stdout)


@pytest.fixture
def good_objects(run_objects, objects_truth):
    result = run_objects(good(objects_truth), "--format", "json")
    assert result.returncode in (0, 1), describe(result)
    return json.loads(result.stdout)


def truth_entry(truth, case):
    return next(entry for entry in truth["objects"] if entry["case"] == case)


def tool_entry(snapshot, truth, case):
    """The tool's object for the case: the one at the case's position (objects are in --object order)."""
    index = [entry["case"] for entry in truth["objects"]].index(case)
    objects = snapshot.get("objects")
    assert objects is not None and len(objects) == len(truth["objects"]), "objects: %r" % (objects,)
    return objects[index]


def frame_lines(frames):
    """`name file:line` per frame (the identity of a frame in both JSONs)."""
    return ["%s %s:%s" % (f["name"], f["filename"], f["line"]) for f in frames]


def projection(entry):
    """What the contract fixes about one object, from a truth entry or a tool object."""
    if "case" in entry:  # truth
        return {
            "address": entry["address"], "type": entry["type"], "state": entry["state"],
            "frames": frame_lines(entry["frames"]), "leaf": entry["leaf"], "error": entry["error"],
            "thread_tid": entry["thread_tid"],
        }
    thread = entry.get("thread")
    return {
        "address": entry.get("address"), "type": entry.get("type"), "state": entry.get("state"),
        "frames": frame_lines(entry.get("frames") or []), "leaf": entry.get("leaf"),
        "error": entry.get("error") is not None, "thread_tid": thread["tid"] if thread else None,
    }


# --- the scenario itself ------------------------------------------------------------------


def test_truth_is_what_the_scenario_claims(objects_truth):
    def tags(entry):
        return ["H" if f["hidden"] else (f["tag"] or "*") for f in entry["frames"]]

    seen = {e["case"]: (e["type"], e["state"], tags(e), e["leaf"] and e["leaf"]["type"], e["error"])
            for e in objects_truth["objects"]}
    assert seen == EXPECTED
    running = truth_entry(objects_truth, "running_gen")
    assert running["thread_tid"] == truth_entry(objects_truth, "thread")["thread_tid"] is not None
    running = truth_entry(objects_truth, "running_coro")
    assert running["thread_tid"] == truth_entry(objects_truth, "running_coro_inner")["thread_tid"] is not None


@UPSTREAM_INTERPRETERS
def test_upstream_oracle_recorded(objects_truth):
    """3.8-3.12: the scenario imported upstream stackscope and recorded its text."""
    upstream = objects_truth["upstream"]
    assert upstream["skipped"] is None, upstream["skipped"]
    missing = [case for case in ORACLE_CASES if case not in upstream["texts"]]
    assert missing == []
    failed = {case: text for case, text in upstream["texts"].items() if text.startswith("!!!")}
    assert failed == {}


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_object_matches_truth(all_objects, objects_truth, case):
    """address, type, frames (name, file, line), leaf, error or not, thread tid."""
    expected = projection(truth_entry(objects_truth, case))
    actual = projection(tool_entry(all_objects, objects_truth, case))
    del expected["state"], actual["state"]
    assert actual == expected


@pytest.mark.parametrize("case", CASES)
def test_object_state(all_objects, objects_truth, case):
    """created / suspended / running / finished for generators, coroutines and async generators,
    and for async_generator_asend / athrow and coroutine_wrapper their generator's; null for
    every other object."""
    assert tool_entry(all_objects, objects_truth, case).get("state") == truth_entry(objects_truth, case)["state"]


@pytest.mark.parametrize("case", [c for c in CASES if not EXPECTED[c][4] and EXPECTED[c][2]])
def test_object_frame_details(all_objects, objects_truth, case):
    """function (co_qualname 3.11+, upstream's guess before), module, hidden, source per frame."""

    def truth_side(f):
        return (f["name"], f["function"], f["module"], f["hidden"],
                linecache.getline(f["filename"], f["line"]).strip() or None)

    def tool_side(f):
        return (f.get("name"), f.get("function"), f.get("module"), f.get("hidden"), f.get("source"))

    expected = [truth_side(f) for f in truth_entry(objects_truth, case)["frames"]]
    assert [tool_side(f) for f in tool_entry(all_objects, objects_truth, case)["frames"]] == expected


def test_objects_in_order(all_objects, objects_truth):
    assert [o.get("address") for o in all_objects.get("objects", [])] == [e["address"] for e in objects_truth["objects"]]


def test_no_threads_with_objects(all_objects, good_objects):
    assert (all_objects["threads"], good_objects["threads"]) == ([], [])


@pytest.mark.parametrize("case", [c for c in CASES if EXPECTED[c][4]])
def test_error_objects(all_objects, objects_truth, case):
    """An error names itself (error text, error_detail.kind), prints no frames and no leaf."""
    found = tool_entry(all_objects, objects_truth, case)
    assert isinstance(found.get("error"), str) and found["error"], found
    assert isinstance(found.get("error_detail"), dict) and found["error_detail"].get("kind"), found
    assert (found.get("frames"), found.get("leaf"), found.get("state"), found.get("thread")) == ([], None, None, None)


def test_no_error_detail_without_error(all_objects, objects_truth):
    stray = [(e["case"], o.get("error"), o.get("error_detail"))
             for e, o in zip(objects_truth["objects"], all_objects["objects"])
             if not e["error"] and (o.get("error") is not None or o.get("error_detail") is not None)]
    assert stray == []


def test_exit_1_because_of_the_errors(run_objects, objects_truth):
    result = run_objects(objects_truth["objects"], "--format", "json")
    assert result.returncode == 1, describe(result)


def test_exit_0_without_the_errors(run_objects, objects_truth, all_objects, good_objects):
    """Only the objects that are no error: exit 0, and each as in the run with the errors."""
    result = run_objects(good(objects_truth), "--format", "json")
    assert result.returncode == 0, describe(result)
    with_errors = [o for e, o in zip(objects_truth["objects"], all_objects["objects"]) if not e["error"]]
    assert good_objects["objects"] == with_errors


def test_order_does_not_matter(run_objects, objects_truth, all_objects):
    """The objects in reverse order: each object as in the first run."""
    result = run_objects(objects_truth["objects"][::-1], "--format", "json")
    assert result.returncode == 1, describe(result)
    assert json.loads(result.stdout)["objects"][::-1] == all_objects["objects"]


@pytest.mark.parametrize("case", CASES)
def test_each_object_alone(run_objects, objects_truth, all_objects, case):
    """One --object: the same entry as among all the others, exit 1 only for an error."""
    entry = truth_entry(objects_truth, case)
    result = run_objects([entry], "--format", "json")
    assert result.returncode == (1 if entry["error"] else 0), describe(result)
    assert json.loads(result.stdout)["objects"] == [tool_entry(all_objects, objects_truth, case)]


def test_json_matches_schema(all_objects, good_objects, schema):
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(all_objects)
    validator.validate(good_objects)


def test_process_fields(all_objects, objects_truth):
    assert (all_objects["schema_version"], all_objects["pid"], all_objects["python_version"]) == (
        1, objects_truth["pid"], objects_truth["python_version"])


# --- text -------------------------------------------------------------------------------------


@pytest.fixture
def tree_blocks(run_objects, objects_truth):
    """The tree text of every object, split at the `stackscope.Stack` headers: [[lines]]."""
    result = run_objects(objects_truth["objects"], "--format", "tree")
    assert result.returncode == 1, describe(result)
    return split_blocks(without_process_header(result.stdout))


def split_blocks(text):
    blocks = []
    for line in text.splitlines():
        if line.startswith(ANY_HEADER):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            assert not line.strip(), "text before the first header: %r" % line
    return [strip_blank_tail(block) for block in blocks]


def strip_blank_tail(lines):
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def block_of(tree_blocks, truth, case):
    assert len(tree_blocks) == len(truth["objects"]), "one header per object: %r" % [b[0] for b in tree_blocks]
    return tree_blocks[[e["case"] for e in truth["objects"]].index(case)]


def test_one_header_per_object(tree_blocks, objects_truth):
    """A `stackscope.Stack of ...` header for every object, those with an error included."""
    assert len(tree_blocks) == len(objects_truth["objects"])
    assert [e["case"] for e, block in zip(objects_truth["objects"], tree_blocks) if not block[0].startswith(HEADER)] == []


@pytest.mark.parametrize("case", [c for c in CASES if EXPECTED[c][4]])
def test_text_error(tree_blocks, all_objects, objects_truth, case):
    """An object with an error shows the error below its header, and no frame."""
    block = block_of(tree_blocks, objects_truth, case)
    error = tool_entry(all_objects, objects_truth, case)["error"]
    assert any(error in line for line in block[1:]), (error, block)
    assert not any(line.startswith(("╠ ", "╚ ")) for line in block), block


@pytest.mark.parametrize("case", [c for c in CASES if not EXPECTED[c][4]])
def test_text_header(tree_blocks, all_objects, objects_truth, case):
    """The header shows the object's description, as the scenario computed it: repr() of a
    generator-like object or a Thread, object.__repr__ of a wrapper, <Future pending> ..."""
    header = block_of(tree_blocks, objects_truth, case)[0]
    description = tool_entry(all_objects, objects_truth, case).get("description")
    assert description == truth_entry(objects_truth, case)["description"]
    assert header.startswith(HEADER + description), (header, description)
    assert header.endswith("(most recent call last):"), header


def expected_text(entry):
    """The tree lines below the header, from the truth: frames (hidden ones left out), each with
    its source line, then the leaf."""
    lines = []
    for frame in entry["frames"]:
        if frame["hidden"]:
            continue
        lines.append("╠ %s in %s at %s:%s" % (frame["function"], frame["module"], frame["filename"], frame["line"]))
        source = linecache.getline(frame["filename"], frame["line"]).strip()
        if source:
            lines.append("║ └ " + source)
    if entry["leaf"]:
        lines.append("╚ " + entry["leaf"]["repr"])
    return lines


@pytest.mark.parametrize("case", [c for c in CASES if not EXPECTED[c][4]])
def test_text_body_matches_truth(tree_blocks, objects_truth, case):
    """Frames and leaf as the truth has them; its frames' contexts are test_with_blocks.py's."""
    entry = truth_entry(objects_truth, case)
    body = [line for line in block_of(tree_blocks, objects_truth, case)[1:] if not line.startswith("║ ├ ")]
    assert body == expected_text(entry)


UPSTREAM_FUTUREITER = re.compile(r"╚ <_asyncio\.FutureIter object at 0x[0-9a-f]+>$")
UPSTREAM_NESTED_UNDER_CONTEXT = ("║ │ ", "║ ├─")


def normalised_upstream(text, entry):
    """Upstream's lines below its header, normalised as the module docstring says."""
    lines = strip_blank_tail(text.splitlines())
    assert lines and lines[0].startswith(ANY_HEADER), text
    body = [line for line in lines[1:] if not line.startswith(UPSTREAM_NESTED_UNDER_CONTEXT)]
    leaf = entry["leaf"]
    if leaf and leaf["type"] in FUTURE_TYPES and body and body[-1].startswith("╚ "):
        body[-1] = "╚ " + leaf["repr"]
    return body


@UPSTREAM_INTERPRETERS
@pytest.mark.parametrize("case", ORACLE_CASES)
def test_text_matches_upstream(tree_blocks, objects_truth, case):
    """3.8-3.12: the tree text below the header equals upstream stackscope's, normalised."""
    upstream = objects_truth["upstream"]
    if upstream["skipped"]:
        pytest.skip("!!! UPSTREAM ORACLE MISSING: " + upstream["skipped"])
    entry = truth_entry(objects_truth, case)
    assert block_of(tree_blocks, objects_truth, case)[1:] == normalised_upstream(upstream["texts"][case], entry)


ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"}


@pytest.mark.parametrize("mode", ["asan-live", "asan-core"])
@pytest.mark.parametrize("output_format", ["json", "tree"])
def test_objects_sanitizers_clean(asan_tool, objects_target, objects_truth, output_format):
    """Every object (the error cases too) through the ASan/UBSan build: no report, the errors' exit 1."""
    args = list(objects_target) + object_options(objects_truth["objects"]) + ["--format", output_format]
    result = run_tool(asan_tool, args, env=clean_env(**ASAN_ENV), timeout=300)
    assert result.returncode == 1, describe(result)
    assert not [m for m in ("Sanitizer", "runtime error:", "SUMMARY:") if m in result.stderr], describe(result)
    if output_format == "json":
        assert len(json.loads(result.stdout)["objects"]) == len(objects_truth["objects"])

