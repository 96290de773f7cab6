"""Active `with` / `async with` blocks (issue 14): each frame's contexts in the JSON and the tree
text, for suspended generators, coroutines and async generators (`--object ADDR`) and for
parked threads (the thread view), against the truth that scenarios/with_blocks.py records
in-process, and the tree text against upstream stackscope's (tests/third_party/stackscope) on
3.8-3.12.

Rows: every interpreter in the plain variant, and the same scenario under sys.settrace
(3.8-3.11), under sys.monitoring with LINE and INSTRUCTION events (3.12+) and with
PYTHON_JIT=1 (Debian 3.14 / 3.15, debug builds too), each read live and from a core (the
instrumented bytecode and the JIT's executors are in the core too). One scenario process and
one core per interpreter x variant; the tool reads all the objects in one run per output format.

The contract: each frame has `contexts`, outermost first, each {is_async, is_exiting, varname
(null when none), type (type(cm).__name__; null where the manager cannot be known: an exiting
block whose __aexit__ is a staticmethod, as upstream), start_line, source, description,
inner_stack, children, error (null)} and, if the tool gives it, `address` (the manager's id());
a frame whose blocks cannot be decoded has `contexts_error`, which no frame of this scenario may
have. What a manager holds (issue 15), as upstream's glue_contextlib says: a @contextmanager /
@asynccontextmanager manager's description `qualname(...)` (or `module.func(args)` while it still
has func) and its generator's frames as `inner_stack` (null while exiting); an ExitStack's /
AsyncExitStack's callbacks as `children` (varname `stack[i]`, no source, description
`stack.enter_context(...)`, `stack.callback(module.fn, 10, 'hi', answer=42)`, ...), each
elaborated in turn. The tree shows under each frame line one line per context,
`║ ├ <source of the with line>  # <varname or _>: <type> (line <start>)`, its inner stack's frames
(`║ │ ╠ ...`) and its children (`║ ├── <description>  # stack[i]: <type>`, their own lines under
`║ │   `), then `║ └ <source>` unless the last context is exiting. `--no-contexts`: no context
lines, every source line shown (as a frame without contexts), `contexts` empty in JSON.

Descriptions show objects with the tool's bounded repr (functions' `module.qualname`, ints,
strs, a lock, object.__repr__), compared in full.

Upstream oracle, normalised (only) as follows; everything else must be equal below the header
(nested lines included):
- function names: upstream prints co_name with its self/cls class guess; the tool prints
  co_qualname from 3.11 on (a documented improvement). The scenario records upstream's name per
  frame (`upstream_function`); upstream's frame line must show exactly that, and is then
  compared with the tool's name (`function`) in its place. The two differ only for the
  staticmethod `SillyAsyncCM.__aexit__` on 3.11/3.12 (upstream: `__aexit__`). Frames inside
  contexts are renamed likewise, in the order the text shows them.
On 3.13-3.15, where upstream cannot run, the expected text is built from the truth the same
way upstream builds it (the scenario's source and lines; threading's frames from the truth).
The same expected text is also compared with upstream's on 3.8-3.12 (a check of the scenario).

Flat text (`--format flat`) against upstream's `Stack.format_flat(show_contexts=True)` of the same
Stack on 3.8-3.12 (a traceback entry `  File "f", line N, in name` and its `    source` line per
frame, preceded by one entry per context at its with line, `in name (varname: Type)`),
normalised (only) as follows; everything else must be equal below the header:
- the header is not compared: upstream's `stackscope.Stack of <repr> (most recent call last):`
  (a thread: `stackscope.Stack (most recent call last):`) is the tool's
  `Traceback of <...> (most recent call last):` (a thread: `Traceback (most recent call last):`);
- entries upstream nests under a context are kept: its inner stack's entries, then each child's
  (`in name (stack[i]: Type)` at the with line, `    # <description>`), in Context._frame_summaries'
  order, which the test follows through the truth to rename them;
- function names: upstream's entries name co_name (funcname, no class guess), `name` in the
  truth; each upstream entry must show exactly that (a context's: followed by ` (info)` or
  nothing) and it is then replaced with the tool's name (`function`: as in the tree, co_qualname
  from 3.11, upstream's tree-style self/cls class guess before; so on 3.8-3.10 too the tool's
  flat entries say `YieldsDuringAexit.__aexit__`, `Event.wait` where upstream's say `__aexit__`,
  `wait`); a child's entry is named after the frame whose context holds it, as upstream's.
No case has a leaf (`  Target of innermost frame: ...`) or an error; if upstream printed one, it
would be compared as it is.
"""
import json
import linecache
import re

import jsonschema
import pytest

from harness import ScenarioCache, clean_env, describe, run_once_on, without_process_header
from interpreters import INTERPRETERS

SCRIPT = "with_blocks.py"
HEADER = "stackscope.Stack of "
THREAD_STACK_HEADER = "stackscope.Stack (most recent call last):"
UPSTREAM_RANGE = ((3, 8), (3, 12))
JIT_ROWS = {"3.14", "3.15", "3.14-dbg", "3.15-dbg"}


def variants_of(interp):
    variants = ["plain"]
    if (3, 8) <= interp.version <= (3, 11):
        variants.append("settrace")
    if interp.version >= (3, 12):
        variants.append("monitoring")
    if interp.label in JIT_ROWS:
        variants.append("jit")
    return variants


def rows(with_mode=True, wanted=lambda interp: True):
    """pytest params (interp, variant[, mode]): every variant live and from a core."""
    params = []
    for interp in INTERPRETERS:
        if not wanted(interp):
            continue
        for variant in variants_of(interp):
            modes = ["live", "core"] if with_mode else [None]
            for mode in modes:
                values = (interp, variant, mode) if with_mode else (interp, variant)
                ident = "-".join(v for v in (interp.label, variant, mode) if v)
                params.append(pytest.param(*values, id=ident, marks=pytest.mark.xdist_group(interp.label)))
    return params


def upstream_version(interp):
    return UPSTREAM_RANGE[0] <= interp.version <= UPSTREAM_RANGE[1]


ROWS = pytest.mark.parametrize("interp,variant,mode", rows(), indirect=["interp"], scope="session")
TRUTH_ROWS = pytest.mark.parametrize("interp,variant", rows(with_mode=False), indirect=["interp"], scope="session")
UPSTREAM_ROWS = pytest.mark.parametrize("interp,variant,mode", rows(wanted=upstream_version), indirect=["interp"],
                                        scope="session")
UPSTREAM_TRUTH_ROWS = pytest.mark.parametrize("interp,variant", rows(with_mode=False, wanted=upstream_version),
                                              indirect=["interp"], scope="session")

# What each case is, independently of the truth the scenario writes: per frame, outermost
# first, its AT tag ("H" threading's hidden bootstrap frames, "*" other frames of the standard
# library) and its contexts as (with tag, varname as upstream prints it, type shown, exiting).
# Checked against the truth, so that a scenario that stops doing what it claims fails there.
AEXIT_TAIL = [("YieldsDuringAexit.__aexit__", []), ("async_yield", [])]
EVENT_WAIT = [("*", [("threading.Event.wait", None, "Condition", False)]), ("*", [])]
GCM = "_GeneratorContextManager"
EXPECTED = {
    "readme_example": [("call_example", []), ("example", [("example.outer", None, GCM, False)])],
    "exitstack_push_callback": [("exitstack_user", [("exitstack_user.stack", "stack", "ExitStack", False)])],
    "async_exitstack": [("async_exitstack_user", [("async_exitstack.stack", "stack", "AsyncExitStack", False)]),
                        ("async_yield", [])],
    "acm_exiting": [("acm_exiting", [("acm_exiting.acm", None, "_AsyncGeneratorContextManager", True)]), ("*", []),
                    ("acm_blocks_on_exit", []), ("async_yield", [])],
    "yield_from_in_with": [("yields_from_in_with", [("yields_from_in_with.stack", "stack", "ExitStack", False)]),
                           ("sub_generator", [])],
    "not_started": [("not_started_with", [])],
    "aexit_suspended": [("aexit_suspended", [("aexit_suspended.mgr", "mgr", "YieldsDuringAexit", True)])] + AEXIT_TAIL,
    "aexit_captures_self": [("aexit_captures_self", [("aexit_captures_self.mgr", "mgr", "CapturesSelfInAexit", True)]),
                            ("CapturesSelfInAexit.__aexit__", []), ("async_yield", [])],
    "jump_out_return": [("jumps_out", [("jumps_out.mgr", "mgr", "YieldsDuringAexit", True)])] + AEXIT_TAIL,
    "jump_out_break": [("jumps_out", [("jumps_out.mgr", "mgr", "YieldsDuringAexit", True)])] + AEXIT_TAIL,
    "jump_out_raise": [("jumps_out", [("jumps_out.mgr", "mgr", "YieldsDuringAexit", True)])] + AEXIT_TAIL,
    "staticmethod_aexit": [("staticmethod_aexit", [("staticmethod_aexit.silly", None, None, True)]),
                           ("SillyAsyncCM.__aexit__", []), ("async_yield", [])],
    "multi_item_with": [("multi_item_with", [("multi_item.ab", "a", "nullcontext", False),
                                             ("multi_item.ab", "b", "nullcontext", False)])],
    "multiline_with": [("multiline_with", [("multiline_with.n", "n", "nullcontext", False),
                                           ("multiline_with.y", "y", "YieldsDuringAexit", False)])],
    "multiline_with_exiting": [("multiline_with", [("multiline_with.n", "n", "nullcontext", False),
                                                   ("multiline_with.y", "y", "YieldsDuringAexit", True)])] + AEXIT_TAIL,
    "async_with_in_finally": [("async_with_in_finally", [
        ("async_with_in_finally.icm", "icm", "_AsyncGeneratorContextManager", False)])],
    "async_with_in_finally_throw": [("async_with_in_finally", [
        ("async_with_in_finally.icm", "icm", "_AsyncGeneratorContextManager", False)])],
    "assignment_targets": [("assignment_targets", [
        ("targets.tuple_list", "(a, b)", "C", False), ("targets.tuple_list", "(c,)", "C", False),
        ("targets.name", "x", "C", False),
        ("targets.attributes", "ns.foo", "C", False), ("targets.attributes", "ns.sub.foo", "C", False),
        ("targets.subscripts", "dct['one']", "C", False), ("targets.subscripts", "dct['sub']['two']", "C", False),
        ("targets.none", None, "C", False)]), ("async_yield", [])],
    "starred_target": [("starred_target", [("starred.target", "(first, *rest, last)", "C", False)]), ("async_yield", [])],
    "exotic_targets": [("exotic_targets", [
        ("exotic.call_subscript", "dct.__getitem__('sub')['three']", "C", False),
        ("exotic.locals", "locals()['ns'].bar", "C", False), ("exotic.locals", None, "C", False)]), ("async_yield", [])],
    "stdlib_managers": [("stdlib_managers", [
        ("stdlib.suppress", None, "suppress", False), ("stdlib.nullcontext", None, "nullcontext", False),
        ("stdlib.global_lock", None, "lock", False), ("stdlib.local_lock", "a_lock", "lock", False)])],
    "last_local_wins": [("last_local_wins", [("last_local.lock", "z_lock", "lock", False)])],
    "extended_arg": [("extended_arg", [("extended_arg.mgr", "mgr", "YieldsDuringAexit", True)])] + AEXIT_TAIL,
    "hot_loop": [("hot_loop", [("hot_loop.stack", "stack", "ExitStack", False),
                               ("hot_loop.mgr", "mgr", "YieldsDuringAexit", False)]), ("async_yield", [])],
    "thread_with_blocks": [("H", []), ("H", []), ("H", []), ("thread_with_blocks", [
        ("thread.global_lock", None, "lock", False), ("thread.local_lock", "local_lock", "lock", False),
        ("thread.es", "es", "ExitStack", False), ("thread.outer", None, GCM, False)]),
        ("thread_inner", [])] + EVENT_WAIT,
    "thread_exiting": [("H", []), ("H", []), ("H", []), ("thread_exiting", [("thread_exiting.gcm", None, GCM, True)]),
                       ("*", []), ("blocks_on_exit", [])] + EVENT_WAIT,
    "thread_gen_running": [("H", []), ("H", []), ("H", []), ("thread_gen_running", [
        ("thread_gen_running.cm", "manager", GCM, False)])] + EVENT_WAIT,
}
CASES = list(EXPECTED)
THREAD_CASES = ["thread_with_blocks", "thread_exiting", "thread_gen_running"]
OBJECT_CASES = [c for c in CASES if c not in THREAD_CASES]
MONITORING_EVENTS = 32 | 64  # sys.monitoring.events.LINE | INSTRUCTION


# --- the scenario, its core, the tool's runs ------------------------------------------------


def with_env(variant):
    extra = {"STACKSCOPE_UPSTREAM_ORACLE": "1", "STACKSCOPE_WITH_VARIANT": variant}
    if variant == "jit":
        extra["PYTHON_JIT"] = "1"
    return clean_env(**extra)


@pytest.fixture(scope="session")
def scenario_cache(tmp_path_factory):
    cache = ScenarioCache(tmp_path_factory, "with", SCRIPT, env_for=with_env)
    yield cache
    cache.close()


@pytest.fixture
def with_scenario(scenario_cache, python, interp, variant):
    return scenario_cache.scenario(python, interp, variant)


@pytest.fixture
def with_truth(with_scenario):
    return with_scenario.truth


@pytest.fixture
def with_core(scenario_cache, with_scenario, variant):
    return scenario_cache.core(variant)


@pytest.fixture
def with_target(request, mode, with_scenario, python):
    if mode == "live":
        return ["pid", with_scenario.pid]  # run_with waits for its threads before each read
    return ["core", request.getfixturevalue("with_core"), "--executable", python]


def truth_case(truth, case):
    return next(entry for entry in truth["cases"] if entry["case"] == case)


def object_entries(truth):
    return [entry for entry in truth["cases"] if entry["kind"] == "object"]


@pytest.fixture
def run_with(tool, tool_runs, with_target, with_truth):
    """run(objects?, *options): the tool on the scenario's objects (or, objects=False, its
    threads), each distinct run once a session."""

    def run(objects, *options):
        addresses = [entry["address"] for entry in object_entries(with_truth)] if objects else []
        return run_once_on(tool, tool_runs, with_target, addresses, options)

    return run


def json_of(result):
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


@pytest.fixture
def objects_json(run_with):
    return json_of(run_with(True, "--format", "json"))


@pytest.fixture
def threads_json(run_with):
    return json_of(run_with(False, "--format", "json"))


def tool_frames(objects_json, threads_json, truth, case):
    """The tool's frames of a case: its object (objects are in --object order) or its thread."""
    entry = truth_case(truth, case)
    if entry["kind"] == "thread":
        found = [t for t in threads_json["threads"] if t.get("tid") == entry["thread_tid"]]
        assert len(found) == 1, "thread %s (tid %s) in %r" % (case, entry["thread_tid"], [t.get("tid") for t in threads_json["threads"]])
        return found[0]["frames"]
    index = [e["case"] for e in object_entries(truth)].index(case)
    objects = objects_json.get("objects") or []
    assert len(objects) == len(object_entries(truth)), "objects: %r" % [o.get("description") for o in objects]
    assert objects[index].get("address") == entry["address"]
    return objects[index]["frames"]


# --- expected output, from the truth ------------------------------------------------------------


def source_at(filename, line):
    return linecache.getline(filename, line).strip()


def context_comment(context, with_line=True):
    """Upstream's `# ...` of a context line: `varname: Type (line N)`, `_` without a varname;
    without a known manager only the varname (if any) and the line; a child's without its line."""
    if context["shown_type"] is not None:
        info = "%s: %s" % (context["varname"] or "_", context["shown_type"])
    else:
        info = context["varname"] or ""
    line = "(line %d)" % context["start_line"] if with_line else ""
    return " ".join(part for part in (info, line) if part)


def stack_lines(frames, show_contexts=True):
    """Upstream's Stack._format below its header, from the truth."""
    lines = []
    for frame in frames:
        if frame["hidden"]:
            continue
        for index, line in enumerate(frame_lines(frame, show_contexts)):
            lines.append(("╠ " if index == 0 else "║ ") + line)
    return lines


def frame_lines(frame, show_contexts):
    """Frame._format."""
    lines = ["%s in %s at %s:%s" % (frame["function"], frame["module"], frame["filename"], frame["line"])]
    contexts = frame["contexts"] if show_contexts else []
    for context in contexts:
        for index, (line, child) in enumerate(context_lines(context, frame, True)):
            marker = "├ " if index == 0 else "├─" if child else "│ "
            lines.append(marker + line)
    source = source_at(frame["filename"], frame["line"])
    if source and not (contexts and contexts[-1]["is_exiting"]):
        lines.append("└ " + source)
    return lines


def context_lines(context, frame, top):
    """Context._format: [(line, starts a child)]; a child has no source line."""
    text = source_at(frame["filename"], context["start_line"]) if top else ""
    if not text:
        text = context["description"] or ("async with <???>:" if context["is_async"] else "with <???>:")
    comment = context_comment(context, with_line=top)
    lines = [(text + ("  # " + comment if comment else ""), False)]
    if context["inner_stack"] is not None:
        lines += [(line, False) for line in stack_lines(context["inner_stack"])]
    for child in context["children"]:
        for index, (line, _) in enumerate(context_lines(child, frame, False)):
            lines.append((("─ " if index == 0 else "  ") + line, index == 0))
    return lines


def expected_text(entry, show_contexts=True):
    """The tree lines of a case below its header, built as upstream builds them."""
    return stack_lines(entry["frames"], show_contexts)


def expected_context_json(context, filename, top=True):
    description = context["description"]
    return {"type": context["shown_type"], "start_line": context["start_line"], "varname": context["varname"],
            "is_async": context["is_async"], "is_exiting": context["is_exiting"],
            "source": source_at(filename, context["start_line"]) if top else None,
            "description": description,
            "inner_stack": None if context["inner_stack"] is None else [
                expected_frame_json(f) for f in context["inner_stack"]],
            "children": [expected_context_json(child, filename, False) for child in context["children"]],
            "error": None}


def expected_frame_json(frame):
    return {"function": frame["function"], "line": frame["line"],
            "contexts": [expected_context_json(c, frame["filename"]) for c in frame["contexts"]]}


def expected_contexts(frame):
    return [expected_context_json(c, frame["filename"]) for c in frame["contexts"]]


CONTEXT_KEYS = ("type", "start_line", "varname", "is_async", "is_exiting", "source", "description", "inner_stack",
                "children", "error")


def actual_context_json(context, expected):
    """The tool's context in the shape of `expected`."""
    out = {key: context.get(key, "<absent>") for key in CONTEXT_KEYS}
    inner = out["inner_stack"]
    if isinstance(inner, dict):
        expected_frames = (expected or {}).get("inner_stack") or []
        out["inner_stack"] = [actual_frame_json(f, expected_frames[i] if i < len(expected_frames) else None)
                              for i, f in enumerate(inner.get("frames") or [])]
    children = out["children"] if isinstance(out["children"], list) else []
    expected_children = (expected or {}).get("children") or []
    out["children"] = [actual_context_json(c, expected_children[i] if i < len(expected_children) else None)
                       for i, c in enumerate(children)]
    return out


def actual_frame_json(frame, expected):
    contexts = frame.get("contexts") or []
    expected_contexts_ = (expected or {}).get("contexts") or []
    return {"function": frame.get("function"), "line": frame.get("line"),
            "contexts": [actual_context_json(c, expected_contexts_[i] if i < len(expected_contexts_) else None)
                         for i, c in enumerate(contexts)]}


def actual_contexts(frame, expected):
    contexts = frame.get("contexts") or []
    return [actual_context_json(c, expected[i] if i < len(expected) else None) for i, c in enumerate(contexts)]


def truth_frames_in_text_order(frames):
    """Every frame the tree shows (nested ones included), in the order it shows them."""
    for frame in frames:
        if frame["hidden"]:
            continue
        yield frame
        for context in frame["contexts"]:
            yield from context_frames(context)


def context_frames(context):
    if context.get("inner_stack"):
        yield from truth_frames_in_text_order(context["inner_stack"])
    for child in context.get("children", []):
        yield from context_frames(child)


def flat_entries_of_truth(frames):
    """Upstream's flat entries in order (Stack._frame_summaries with contexts): (frame it names,
    is a context's entry)."""
    for frame in frames:
        if frame["hidden"]:
            continue
        for context in frame["contexts"]:
            yield from context_flat_entries(context, frame, False)
        if not (frame["contexts"] and frame["contexts"][-1]["is_exiting"]):
            yield frame, False


def context_flat_entries(context, parent, child):
    yield parent, True
    if context["inner_stack"] is not None:
        yield from flat_entries_of_truth(context["inner_stack"])
    for sub in context["children"]:
        yield from context_flat_entries(sub, parent, True)


# --- the scenario itself ------------------------------------------------------------------------


@TRUTH_ROWS
def test_truth_is_what_the_scenario_claims(with_truth):
    def shape(entry):
        frames = []
        for frame in entry["frames"]:
            tag = "H" if frame["hidden"] else (frame["tag"] or "*")
            frames.append((tag, [(c["tag"], c["varname"], c["shown_type"], c["is_exiting"]) for c in frame["contexts"]]))
        return frames

    assert {e["case"]: shape(e) for e in with_truth["cases"]} == EXPECTED
    for entry in with_truth["cases"]:
        for frame in entry["frames"]:
            for context in frame["contexts"]:
                assert context["type"] == (context["shown_type"] or "SillyAsyncCM"), (entry["case"], context)


@TRUTH_ROWS
def test_frames_are_where_the_scenario_claims(with_truth, interp):
    """Each frame of the scenario is at its AT-tagged line (not-started frames at their def
    line), but a frame that exits a block: from 3.10 on at the block's with line, on 3.8 and
    3.9 somewhere in the block (the tests take the truth's line)."""
    elsewhere = []
    for entry in with_truth["cases"]:
        for frame in entry["frames"]:
            if not frame["tag"]:
                continue
            if frame["contexts"] and frame["contexts"][-1]["is_exiting"]:
                if interp.version >= (3, 10) and frame["line"] != frame["contexts"][-1]["start_line"]:
                    elsewhere.append((entry["case"], frame["function"], frame["line"], "exiting"))
            elif frame["line_tag"] != frame["tag"]:
                elsewhere.append((entry["case"], frame["function"], frame["line"], frame["line_tag"]))
    assert elsewhere == []


@TRUTH_ROWS
def test_variant_is_in_force(with_truth, variant, interp):
    """The variant the scenario was asked for is what it ran under."""
    state = with_truth["variant"]
    assert state["variant"] == variant
    assert state["gettrace"] == (variant == "settrace")
    if interp.version >= (3, 12):
        assert state["monitoring_events"] == (MONITORING_EVENTS if variant == "monitoring" else 0)
    assert state["jit_enabled"] == (variant == "jit")
    executors = {e["case"]: e["executors"] for e in with_truth["cases"] if e["executors"]}
    if variant == "jit":  # the JIT put ENTER_EXECUTOR into the frames that hold the blocks
        assert "hot_loop" in executors.get("hot_loop", []), executors
        assert "thread_with_blocks" in executors.get("thread_with_blocks", []), executors
    else:
        assert executors == {}
    none_index = with_truth["premises"]["extended_arg_none_index"]
    if interp.version >= (3, 15):  # LOAD_COMMON_CONSTANT: None is no constant
        assert none_index is None
    else:
        assert none_index > 255


@UPSTREAM_TRUTH_ROWS
def test_upstream_oracle_recorded(with_truth):
    upstream = with_truth["upstream"]
    assert upstream["skipped"] is None, upstream["skipped"]
    assert sorted(upstream["texts"]) == sorted(CASES)
    assert {c: t for c, t in upstream["texts"].items() if t.startswith("!!!")} == {}
    assert sorted(upstream["flat"]) == sorted(CASES)
    assert {c: t for c, t in upstream["flat"].items() if t.startswith("!!!")} == {}


def normalised_upstream(text, entry):
    """Upstream's lines below its header, normalised as the module docstring says."""
    lines = text.rstrip("\n").splitlines()
    assert lines and lines[0].startswith("stackscope.Stack"), text
    frames = iter(list(truth_frames_in_text_order(entry["frames"])))
    normalised = []
    for line in lines[1:]:
        frame_line = FRAME_LINE.match(line)
        if frame_line:
            frame = next(frames)
            prefix = "%s in " % frame["upstream_function"]
            assert frame_line.group(2).startswith(prefix), (line, frame["upstream_function"])
            line = "%s%s in %s" % (frame_line.group(1), frame["function"], frame_line.group(2)[len(prefix):])
        normalised.append(line)
    assert next(frames, None) is None, ("upstream shows fewer frames than the truth", text)
    return normalised


FRAME_LINE = re.compile(r"^((?:[║│├─ ]*)╠ )(.*)$")  # a frame's first line, at any depth


@UPSTREAM_TRUTH_ROWS
@pytest.mark.parametrize("case", CASES)
def test_upstream_agrees_with_truth(with_truth, case):
    """3.8-3.12: upstream's text, normalised, is the text built from the truth (a check of the
    scenario and of the normalisation, without the tool)."""
    upstream = with_truth["upstream"]
    if upstream["skipped"]:
        pytest.fail("upstream oracle missing: " + upstream["skipped"])
    entry = truth_case(with_truth, case)
    assert normalised_upstream(upstream["texts"][case], entry) == expected_text(entry)
    assert normalised_upstream_flat(upstream["flat"][case], entry) == expected_flat_text(entry)


# --- JSON ---------------------------------------------------------------------------------------


@ROWS
@pytest.mark.parametrize("case", CASES)
def test_json_frames_and_contexts(objects_json, threads_json, with_truth, case):
    """Per frame: function, line, and its contexts (type, start line, varname, async, exiting,
    source; description, inner_stack, children still empty), no contexts_error."""
    entry = truth_case(with_truth, case)
    frames = tool_frames(objects_json, threads_json, with_truth, case)
    assert [(f.get("function"), f.get("line")) for f in frames] == [(f["function"], f["line"]) for f in entry["frames"]]
    errors = [(f.get("function"), f.get("contexts_error")) for f in frames if f.get("contexts_error") is not None]
    assert errors == []
    expected = [expected_contexts(f) for f in entry["frames"]]
    assert [actual_contexts(f, e) for f, e in zip(frames, expected)] == expected


@ROWS
@pytest.mark.parametrize("case", CASES)
def test_json_context_managers(objects_json, threads_json, with_truth, case):
    """The manager's identity: `address` (if the tool gives one) is the manager's id(); null
    where the manager cannot be known (the staticmethod __aexit__ being exited)."""
    entry = truth_case(with_truth, case)
    frames = tool_frames(objects_json, threads_json, with_truth, case)
    def flattened(frames, inner):
        for frame in frames:
            for context in frame.get("contexts") or []:
                yield from flattened_context(context, inner)

    def flattened_context(context, inner):
        yield context
        stack = context.get("inner_stack")
        yield from flattened(inner(stack) if stack else [], inner)
        for child in context.get("children") or []:
            yield from flattened_context(child, inner)

    contexts = list(flattened(frames, lambda stack: stack.get("frames") or []))
    if any("address" not in c for c in contexts):
        pytest.skip("the tool gives no `address` for a context")
    truth = flattened(entry["frames"], lambda stack: stack)
    expected = [c["address"] if c["shown_type"] is not None else None for c in truth]
    assert [c.get("address") for c in contexts] == expected


@ROWS
def test_no_contexts_error_anywhere(objects_json, threads_json):
    """No frame of any thread or object of the scenario has undecodable blocks."""
    frames = [f for t in threads_json["threads"] for f in t["frames"]]
    frames += [f for o in objects_json.get("objects", []) for f in o["frames"]]
    assert [(f.get("function"), f.get("line"), f.get("contexts_error")) for f in frames
            if f.get("contexts_error") is not None] == []
    assert [f.get("function") for f in frames if not isinstance(f.get("contexts"), list)] == []


@ROWS
def test_json_matches_schema(objects_json, threads_json, schema):
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(objects_json)
    validator.validate(threads_json)


@ROWS
def test_no_contexts_json(run_with, with_truth):
    """--no-contexts: every frame's contexts is an empty list; the frames are unchanged."""
    for objects in (True, False):
        plain = json_of(run_with(objects, "--format", "json"))
        without = json_of(run_with(objects, "--format", "json", "--no-contexts"))
        stacks = plain.get("objects", []) + plain["threads"]
        stacks_without = without.get("objects", []) + without["threads"]
        assert [[c for f in s["frames"] for c in f.get("contexts") or []] for s in stacks_without] == [[] for _ in stacks]
        assert [[(f["function"], f["line"]) for f in s["frames"]] for s in stacks_without] == [
            [(f["function"], f["line"]) for f in s["frames"]] for s in stacks]


# --- text ---------------------------------------------------------------------------------------


def split_object_blocks(text, header="stackscope.Stack"):
    blocks = []
    for line in without_process_header(text).splitlines():
        if line.startswith(header):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    return [strip_blank_tail(block) for block in blocks]


def strip_blank_tail(lines):
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def thread_block(text, tid, stack_header=THREAD_STACK_HEADER):
    """The lines of a thread's stack, from its `stackscope.Stack` (or `stack_header`) line."""
    lines = without_process_header(text).splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Thread %d " % tid)), None)
    assert start is not None, "no header for thread %d in:\n%s" % (tid, text)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("Thread ")), len(lines))
    block = strip_blank_tail(lines[start + 1:end])
    assert block and block[0] == stack_header, block[:2]
    return block


@pytest.fixture
def tree_of(run_with, with_truth):
    """tree_of(case, *options): the tree lines of a case, its header first."""

    def tree(case, *options):
        entry = truth_case(with_truth, case)
        if entry["kind"] == "thread":
            result = run_with(False, "--format", "tree", *options)
            assert result.returncode == 0, describe(result)
            return thread_block(result.stdout, entry["thread_tid"])
        result = run_with(True, "--format", "tree", *options)
        assert result.returncode == 0, describe(result)
        blocks = split_object_blocks(result.stdout)
        assert len(blocks) == len(object_entries(with_truth)), [b[0] for b in blocks]
        block = blocks[[e["case"] for e in object_entries(with_truth)].index(case)]
        assert block[0].startswith(HEADER), block[0]
        return block

    return tree


@ROWS
@pytest.mark.parametrize("case", CASES)
def test_tree_text_matches_truth(tree_of, with_truth, case):
    """Below the header: frame lines, context lines, source lines, built from the truth as
    upstream builds them (3.13-3.15: the expectation; 3.8-3.12: with the upstream check)."""
    assert tree_of(case)[1:] == expected_text(truth_case(with_truth, case))


@UPSTREAM_ROWS
@pytest.mark.parametrize("case", CASES)
def test_tree_text_matches_upstream(tree_of, with_truth, case):
    """3.8-3.12: the tree text below the header equals upstream stackscope's, normalised."""
    upstream = with_truth["upstream"]
    if upstream["skipped"]:
        pytest.fail("upstream oracle missing: " + upstream["skipped"])
    entry = truth_case(with_truth, case)
    assert tree_of(case)[1:] == normalised_upstream(upstream["texts"][case], entry)


@ROWS
@pytest.mark.parametrize("case", CASES)
def test_tree_text_no_contexts(tree_of, with_truth, case):
    """--no-contexts: no context line, and every frame's source line."""
    assert tree_of(case, "--no-contexts")[1:] == expected_text(truth_case(with_truth, case), show_contexts=False)


# --- flat text ----------------------------------------------------------------------------------

FLAT_HEADER = "Traceback of "
FLAT_THREAD_HEADER = "Traceback (most recent call last):"
FLAT_ENTRY = re.compile(r'^(  File ".*", line \d+, in )(.*)$')


@pytest.fixture
def flat_of(run_with, with_truth):
    """flat_of(case): the flat lines of a case, its header first."""

    def flat(case):
        entry = truth_case(with_truth, case)
        result = run_with(entry["kind"] == "object", "--format", "flat")
        assert result.returncode == 0, describe(result)
        if entry["kind"] == "thread":
            return thread_block(result.stdout, entry["thread_tid"], FLAT_THREAD_HEADER)
        blocks = split_object_blocks(result.stdout, "Traceback")
        assert len(blocks) == len(object_entries(with_truth)), [b[0] for b in blocks]
        block = blocks[[e["case"] for e in object_entries(with_truth)].index(case)]
        assert block[0].startswith(FLAT_HEADER), block[0]
        return block

    return flat


def flat_entries(lines):
    """([entry lines], tail): each traceback entry (its `  File` line and what follows it), then
    the lines after the last entry's (leaf, error)."""
    entries, tail = [], []
    for line in lines:
        if FLAT_ENTRY.match(line):
            entries.append([line])
        elif line.startswith("    ") and entries and not tail:
            entries[-1].append(line)
        else:
            tail.append(line)
    return entries, tail


def renamed(entry_lines, frame, context):
    """An upstream entry with the tool's function name in place of upstream's (co_name)."""
    match = FLAT_ENTRY.match(entry_lines[0])
    name = match.group(2)
    if context and name != frame["name"]:
        assert name.startswith(frame["name"] + " ("), (entry_lines[0], frame["name"])
        return [match.group(1) + frame["function"] + name[len(frame["name"]):]] + entry_lines[1:]
    assert name == frame["name"], (entry_lines[0], frame["name"])
    return [match.group(1) + frame["function"]] + entry_lines[1:]


def normalised_upstream_flat(text, entry):
    """Upstream's flat lines below its header, normalised as the module docstring says."""
    lines = text.rstrip("\n").splitlines()
    assert lines and lines[0].startswith("stackscope.Stack") and lines[0].endswith(" (most recent call last):"), text
    entries, tail = flat_entries(lines[1:])
    assert not [line for line in tail if "Previous line repeated" in line], text
    named = list(flat_entries_of_truth(entry["frames"]))
    assert len(named) == len(entries), ("upstream's entries are not the truth's", [f["function"] for f, _ in named],
                                        text)
    normalised = []
    for (frame, context), lines_of_entry in zip(named, entries):
        normalised += renamed(lines_of_entry, frame, context=context)
    return normalised + tail


def expected_flat_text(entry):
    """The flat lines below the header, built from the truth as upstream builds them (with the
    tool's function names)."""
    lines = []

    def file_line(filename, line, function, comment=""):
        return '  File "%s", line %s, in %s%s' % (filename, line, function, " (%s)" % comment if comment else "")

    def add_frames(frames):
        for frame in frames:
            if frame["hidden"]:
                continue
            for context in frame["contexts"]:
                add_context(context, frame, False)
            if not (frame["contexts"] and frame["contexts"][-1]["is_exiting"]):
                lines.append(file_line(frame["filename"], frame["line"], frame["function"]))
                source = source_at(frame["filename"], frame["line"])
                if source:
                    lines.append("    " + source)

    def add_context(context, parent, child):
        lines.append(file_line(parent["filename"], context["start_line"], parent["function"],
                               context_comment(context, with_line=False)))
        if child:
            lines.append("    # " + context["description"])
        else:
            source = source_at(parent["filename"], context["start_line"])
            if source:
                lines.append("    " + source)
        if context["inner_stack"] is not None:
            add_frames(context["inner_stack"])
        for sub in context["children"]:
            add_context(sub, parent, True)

    add_frames(entry["frames"])
    return lines


@UPSTREAM_ROWS
@pytest.mark.parametrize("case", CASES)
def test_flat_text_matches_upstream(flat_of, with_truth, case):
    """3.8-3.12: the flat text below the header equals upstream stackscope's
    format_flat(show_contexts=True), normalised."""
    upstream = with_truth["upstream"]
    if upstream["skipped"]:
        pytest.fail("upstream oracle missing: " + upstream["skipped"])
    entry = truth_case(with_truth, case)
    assert flat_of(case)[1:] == normalised_upstream_flat(upstream["flat"][case], entry)


@pytest.mark.parametrize("interp,variant,mode", rows(wanted=lambda interp: not upstream_version(interp)),
                         indirect=["interp"], scope="session")
@pytest.mark.parametrize("case", CASES)
def test_flat_text_matches_truth(flat_of, with_truth, case):
    """3.13-3.15: below the header, the flat entries built from the truth as upstream builds them
    (3.8-3.12 have upstream's own, which test_upstream_agrees_with_truth checks against these)."""
    assert flat_of(case)[1:] == expected_flat_text(truth_case(with_truth, case))
