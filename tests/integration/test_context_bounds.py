"""What a context holds is read within bounds (issue 15): a manager that holds itself, nesting
deeper than the tool follows (ExitStacks in ExitStacks, @contextmanager generators holding the
next level's manager) and an ExitStack with more callbacks than the tool reads, on every
interpreter, live (scenarios/context_bounds.py). Each ends in a context `error` that says why,
never a crash or a hang, and the text renders. Upstream has no bound (it recurses until
Python's recursion limit), so there is no oracle: the expectations are the tool's documented
bounds (README): 24 contexts deep, 4096 callbacks per ExitStack.
"""
import json

import pytest

from harness import ScenarioProcess, describe, run_tool

MAX_DEPTH = 24  # ContextElaboration::kMaxDepth
MAX_CALLBACKS = 4096  # ContextlibGlue::kMaxCallbacks
CASES = ("self_holding", "deep_exit_stacks", "many_callbacks", "deep_generators")


@pytest.fixture(scope="session")
def bounds_scenario(python, interp, tmp_path_factory):
    target = ScenarioProcess(python, tmp_path_factory.mktemp("bounds-%s-" % interp.label),
                             script="context_bounds.py").start()
    yield target
    target.stop()


@pytest.fixture(scope="session")
def bounds_json(bounds_scenario, tool):
    args = ["pid", bounds_scenario.pid, "--format", "json"]
    for case in CASES:
        args += ["--object", hex(bounds_scenario.truth["objects"][case])]
    result = run_tool(tool, args, timeout=120)
    assert result.returncode == 0, describe(result)
    return {case: stack for case, stack in zip(CASES, json.loads(result.stdout)["objects"])}


def top_context(stack):
    frames = stack["frames"]
    assert len(frames) == 1 and stack["error"] is None, stack
    contexts = frames[0]["contexts"]
    assert len(contexts) == 1, contexts
    return contexts[0]


def test_self_holding_exit_stack_is_shown_once(bounds_json, bounds_scenario):
    top = top_context(bounds_json["self_holding"])
    assert top["address"] == bounds_scenario.truth["managers"]["self_holding"]
    assert top["error"] is None
    [child] = top["children"]
    assert child["address"] == top["address"] and child["varname"] == "stack[0]"
    assert child["description"].startswith("stack.enter_context(<contextlib.ExitStack object at ")
    assert "holds itself" in child["error"]
    assert child["children"] == [] and child["inner_stack"] is None


def test_exit_stacks_nested_deeper_than_the_bound(bounds_json, bounds_scenario):
    context, depth = top_context(bounds_json["deep_exit_stacks"]), 1
    while context["error"] is None:
        assert len(context["children"]) == 1, (depth, context)
        context, depth = context["children"][0], depth + 1
    assert depth == MAX_DEPTH + 1 <= bounds_scenario.truth["deep"]
    assert "nested more than %d deep" % MAX_DEPTH in context["error"]
    assert context["children"] == [] and context["type"] == "ExitStack"


def test_generators_nested_deeper_than_the_bound(bounds_json, bounds_scenario):
    context, depth = top_context(bounds_json["deep_generators"]), 1
    while context["error"] is None:
        inner = context["inner_stack"]
        assert inner is not None and inner["error"] is None and len(inner["frames"]) == 1, (depth, context)
        [context] = inner["frames"][0]["contexts"]
        depth += 1
    assert depth == MAX_DEPTH + 1 <= bounds_scenario.truth["nesting"]
    assert "nested more than %d deep" % MAX_DEPTH in context["error"]
    assert context["inner_stack"] is None and context["description"] == ""


def test_too_many_callbacks(bounds_json, bounds_scenario):
    top = top_context(bounds_json["many_callbacks"])
    assert bounds_scenario.truth["callbacks"] > MAX_CALLBACKS
    assert "claims %d items" % bounds_scenario.truth["callbacks"] in top["error"]
    assert top["children"] == []


def test_text_renders_the_bounded_contexts(bounds_scenario, tool):
    args = ["pid", bounds_scenario.pid]
    for case in CASES:
        args += ["--object", hex(bounds_scenario.truth["objects"][case])]
    for view in ([], ["--flat"], ["--ascii"]):
        result = run_tool(tool, args + view, timeout=120)
        assert result.returncode == 0, describe(result)
        assert result.stdout.count("context unreadable: ") == 4, result.stdout
