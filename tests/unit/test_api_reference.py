"""docs/api-reference.md says what openapi/parley.yaml says: its generated part is current."""

from __future__ import annotations

from devtools import api_reference
from devtools.openapi import load_spec


def test_the_reference_page_is_generated_from_the_current_spec() -> None:
    assert api_reference.main(["--check"]) == 0, "run: python -m devtools.api_reference"


def test_every_operation_of_the_spec_has_its_section() -> None:
    spec = load_spec()
    text = api_reference.PAGE.read_text()
    for path, item in spec["paths"].items():
        for method in api_reference.METHODS:
            if method in item:
                assert f"### `{method.upper()} {path}`" in text


def test_an_edited_spec_makes_the_page_stale() -> None:
    spec = load_spec()
    changed = {**spec, "paths": {**spec["paths"]}}
    changed["paths"]["/v1/ingest"] = {
        "post": {**spec["paths"]["/v1/ingest"]["post"], "summary": "Something else"}
    }
    current = api_reference.PAGE.read_text()
    assert api_reference.page(changed, current) != current
    assert api_reference.page(spec, current) == current


def test_schema_text_is_short_and_exact() -> None:
    spec = load_spec()
    assert (
        api_reference.schema_text(
            spec, {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
        )
        == "integer (1 to 1000), default `100`"
    )
    assert api_reference.schema_text(spec, {"$ref": "#/components/schemas/Record"}) == (
        "[Record](#record)"
    )
    assert api_reference.schema_text(spec, {"type": "string", "maxLength": 200}) == (
        "string (length at most 200)"
    )
    assert api_reference.schema_text(spec, {"enum": ["a", "b"]}) == "one of `a`, `b`"
