"""The ASan/UBSan build reads the scenario (live and core) without sanitizer reports."""
import json

import jsonschema
import pytest

from harness import clean_env, describe, run_tool

SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}
REPORT_MARKERS = ("Sanitizer", "runtime error:", "SUMMARY:")


@pytest.mark.parametrize("mode", ["asan-live", "asan-core"])
@pytest.mark.parametrize("output_format", ["json", "tree"])
def test_sanitizers_clean(asan_tool, target_args, output_format, schema):
    result = run_tool(asan_tool, target_args + ["--format", output_format], env=clean_env(**SANITIZER_ENV), timeout=120)
    assert result.returncode == 0, describe(result)
    assert not [m for m in REPORT_MARKERS if m in result.stderr], describe(result)
    if output_format == "json":
        jsonschema.Draft202012Validator(schema).validate(json.loads(result.stdout))
