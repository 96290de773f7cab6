"""Version x mode result table, and the CI rule that skipped cells must be allowed.

Each test item carries ("matrix_cell", [row, column]) in user_properties; the
reports (also the ones xdist workers send to the controller) carry it along.
"""
import os
from collections import defaultdict

import pytest

from interpreters import INTERPRETERS

COLUMN_ORDER = ["live", "core", "detach", "errors", "schema", "asan-live", "asan-core"]


def load_allowed_skips(path):
    """{(row, column): reason} from lines `<version> <mode> <reason>`; mode may be `*`."""
    allowed = {}
    if not path.exists():
        return allowed
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            parts = line.split(None, 2)
            if len(parts) < 3:
                raise pytest.UsageError("%s: need `<version> <mode> <reason>`: %r" % (path, line))
            allowed[(parts[0], parts[1])] = parts[2]
    return allowed


def is_allowed(allowed, row, column):
    return (row, column) in allowed or (row, "*") in allowed


class MatrixReport:
    def __init__(self, allowed_skips_path):
        self.allowed_path = allowed_skips_path
        self.allowed = load_allowed_skips(allowed_skips_path)
        self.outcomes = {}  # nodeid -> (row, column, outcome)
        self.skip_reasons = {}  # (row, column) -> first skip reason
        self.violations = []

    def pytest_runtest_logreport(self, report):
        cell = dict((k, v) for k, v in report.user_properties).get("matrix_cell")
        if not cell:
            return
        row, column = cell
        previous = self.outcomes.get(report.nodeid, (row, column, "passed"))[2]
        outcome = previous
        if report.failed:
            outcome = "failed"
        elif report.skipped and previous != "failed":
            outcome = "skipped"
            self.skip_reasons.setdefault((row, column), skip_reason(report))
        self.outcomes[report.nodeid] = (row, column, outcome)

    def cells(self):
        counts = defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0})
        for row, column, outcome in self.outcomes.values():
            counts[(row, column)][outcome] += 1
        return counts

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session):
        if os.environ.get("CI") != "true":
            return
        for (row, column), count in sorted(self.cells().items()):
            if count["skipped"] and not is_allowed(self.allowed, row, column):
                self.violations.append((row, column, self.skip_reasons.get((row, column), "")))
        if self.violations:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter):
        yield  # after pytest's own summary, so the table is the last thing shown
        self.write_table(terminalreporter)

    def write_table(self, terminalreporter):
        cells = self.cells()
        if not cells:
            return
        write = terminalreporter.write_line
        rows = sorted({r for r, _ in cells}, key=row_sort_key)
        known = {c for _, c in cells}
        columns = [c for c in COLUMN_ORDER if c in known] + sorted(known - set(COLUMN_ORDER))
        width = max(12, *(len(format_cell(v)) + 2 for v in cells.values()))
        terminalreporter.section("stackscope matrix (version x mode)")
        write("version".ljust(14) + "".join(c.ljust(width) for c in columns))
        for row in rows:
            line = row.ljust(14)
            for column in columns:
                count = cells.get((row, column))
                line += (format_cell(count) if count else "-").ljust(width)
            write(line)
        for interpreter in INTERPRETERS:
            write("interpreter %s: %s" % (interpreter.label, interpreter.provenance()))
        for (row, column), reason in sorted(self.skip_reasons.items()):
            note = "allowed" if is_allowed(self.allowed, row, column) else "NOT in tests/allowed-skips"
            write("skip %s %s (%s): %s" % (row, column, note, reason))
        for row, column, reason in self.violations:
            message = "CI=true: skipped cell %s %s is not listed in %s -> run fails"
            write(message % (row, column, self.allowed_path), red=True)


def format_cell(count):
    if count["failed"]:
        return "FAIL %d/%d" % (count["failed"], sum(count.values()))
    if count["passed"] and count["skipped"]:
        return "pass %d skip %d" % (count["passed"], count["skipped"])
    if count["passed"]:
        return "pass %d" % count["passed"]
    return "SKIP %d" % count["skipped"]


def skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:
        return str(longrepr[2]).replace("Skipped: ", "", 1)
    return str(longrepr).splitlines()[-1] if longrepr else ""


def row_sort_key(row):
    parts = row.split(".")
    numeric = [int(p) if p.isdigit() else 0 for p in parts]
    return (not row[:1].isdigit(), numeric, row)
