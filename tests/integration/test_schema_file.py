"""docs/schema-v1.json is itself a usable JSON Schema."""
import json
from urllib.parse import urlparse

import jsonschema
import pytest

from harness import SCHEMA_PATH

pytestmark = pytest.mark.column("schema")


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_schema_id_is_absolute_uri():
    schema_id = json.loads(SCHEMA_PATH.read_text()).get("$id", "")
    assert urlparse(schema_id).scheme, "relative $id %r: validators cannot resolve its $refs" % schema_id
