"""The bounded out-of-process repr (issue 15): repr_probe (a test tool printing the tool's repr of
each object address given) against reprlib.Repr(maxlevel=3, maxstring=80, maxlong=80, maxlist=6,
maxtuple=6, maxdict=4, maxset=6, maxfrozenset=6, maxother=80).repr(obj) computed in-process by
scenarios/repr_objects.py on every interpreter, live and from a core; and the tool's
function_name against upstream stackscope's format_funcname, also computed in-process.

Every object must match exactly: the scenario's objects are all of kinds the repr rebuilds (no
Python-level __repr__). One scenario process and one core per interpreter; one probe run per
mode and question.
"""
import json

import pytest

from harness import ScenarioProcess, describe, make_core, run_tool, wait_until_all_sleeping

SCRIPT = "repr_objects.py"


@pytest.fixture(scope="session")
def repr_probe(tool):
    probe = tool.parent / "repr_probe"
    if not probe.is_file():
        pytest.skip("!!! REPR PROBE MISSING: %s (built with the tests, beside the tool)" % probe)
    return probe


@pytest.fixture(scope="session")
def repr_scenario(python, interp, tmp_path_factory):
    scenario = ScenarioProcess(python, tmp_path_factory.mktemp("repr-%s-" % interp.label), script=SCRIPT).start(
        timeout=120)
    yield scenario
    scenario.stop()


@pytest.fixture(scope="session")
def repr_core(repr_scenario):
    core = make_core(repr_scenario.pid, repr_scenario.workdir / "core")
    wait_until_all_sleeping(repr_scenario.pid)
    yield core
    core.unlink()


@pytest.fixture(scope="session")
def probe_answers():
    return {}  # (pid, mode, question) -> the probe's list, so each distinct run happens once


@pytest.fixture
def ask(request, mode, repr_probe, repr_scenario, python, probe_answers):
    """ask(entries, *options): the probe's answer for each truth entry's id, in this mode."""

    def run(entries, *options):
        key = (repr_scenario.pid, mode, options)
        if key not in probe_answers:
            if mode == "live":
                wait_until_all_sleeping(repr_scenario.pid)
                target = ["pid", repr_scenario.pid]
            else:
                target = ["core", request.getfixturevalue("repr_core"), "--executable", python]
            args = list(options) + target[:2] + [entry["id"] for entry in entries] + target[2:]
            result = run_tool(repr_probe, args, timeout=120)
            assert result.returncode == 0, describe(result)
            probe_answers[key] = json.loads(result.stdout)
        answers = probe_answers[key]
        assert len(answers) == len(entries)
        return answers

    return run


def mismatches(entries, answers, field):
    return ["%s:\n  expected %r\n  tool     %r" % (e["name"], e[field], got)
            for e, got in zip(entries, answers) if e[field] != got]


def test_scenario_holds_what_it_claims(repr_scenario):
    """The truth covers what the tests rely on: each kind, and the edge cases reprlib bounds."""
    truth = {e["name"]: e["repr"] for e in repr_scenario.truth["objects"]}
    ids = {e["name"]: e["id"] for e in repr_scenario.truth["objects"]}
    assert repr_scenario.truth["int_max_str_digits"] == 4300  # the default the tool assumes
    assert truth["int_over_limit"] == "<int with 4301 digits>"
    assert truth["int_81_digits"].count("...") == 1 and len(truth["int_81_digits"]) == 80
    assert truth["str_long"] == "'" + "x" * 37 + "..." + "x" * 38 + "'"
    assert truth["list_cyclic"] == "[1, [1, [1, [...]]]]"
    assert truth["lock_held"].startswith("<locked _thread.lock object at 0x")
    assert truth["rlock_held"].startswith("<locked _thread.RLock object owner=")
    assert truth["module_sys"] == "<module 'sys' (built-in)>"
    assert truth["exc_huge_int_arg"].startswith("<ValueError instance at 0x")
    assert truth["float_17_digits"] == "0.30000000000000004"
    # asyncio's own guards (to 3.10 around a result; from 3.11 around the whole repr), and
    # RecursionError where none applies.
    assert truth["future_result_holds_itself"] in ("<Future finished result=[<Future finished result=...>]>",
                                                   "<Future finished result=[...]>")
    assert truth["future_exception_holds_itself"] in ("<Future finished exception=ValueError(...)>",
                                                      "<Future instance at %#x>" % ids["future_exception_holds_itself"])
    assert truth["tasks_awaiting_each_other"] == "<Task instance at %#x>" % ids["tasks_awaiting_each_other"] or (
        truth["tasks_awaiting_each_other"].startswith("<Task pending name="))


@pytest.mark.parametrize("mode", ["live", "core"])
def test_repr_matches_reprlib(repr_scenario, ask, mode):
    entries = repr_scenario.truth["objects"]
    bad = mismatches(entries, ask(entries), "repr")
    assert not bad, "%d of %d reprs differ (%s):\n%s" % (len(bad), len(entries), mode, "\n".join(bad))


@pytest.mark.parametrize("mode", ["live", "core"])
def test_function_name_matches_upstream(repr_scenario, ask, mode):
    entries = repr_scenario.truth["function_names"]
    bad = mismatches(entries, ask(entries, "--function-name"), "text")
    assert not bad, "%d of %d names differ (%s):\n%s" % (len(bad), len(entries), mode, "\n".join(bad))


def test_printable_table_is_this_interpreters(python):
    """core/cpython/versions/unicode_printable.cpp holds, for this interpreter's Unicode
    database, exactly the code points its str.isprintable() accepts: the table was generated
    by scripts/gen-unicode-printable.py, not written or edited by hand."""
    import importlib.util
    import re
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("gen_unicode_printable", root / "scripts/gen-unicode-printable.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    probe = subprocess.run([str(python), "-c", generator.PROBE], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    measured = json.loads(probe.stdout)
    source = (root / "core/cpython/versions/unicode_printable.cpp").read_text()
    name = "kPrintable" + "_".join(measured["unicode"].split(".")[:2])
    table = re.search(r"constexpr CodepointRange %s\[\] = \{(.*?)\};" % name, source, re.S)
    assert table, "no table for Unicode %s (Python %s)" % (measured["unicode"], measured["python"])
    committed = [[int(a, 16), int(b, 16)] for a, b in re.findall(r"\{0x([0-9a-f]+), 0x([0-9a-f]+)\}", table.group(1))]
    assert committed == measured["ranges"]
