"""docs/api-reference.md's route and schema sections, generated from openapi/parley.yaml.

    python -m devtools.api_reference           # rewrite the generated part of the page
    python -m devtools.api_reference --check   # exit 1 if the page is not what the spec makes

The page keeps its hand-written introduction; everything after GENERATED_MARKER is this
module's output, so the reference cannot drift from the spec the tests validate every answer
against (tests/unit/test_api_reference.py runs the check).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from devtools.openapi import load_spec
from devtools.template import ROOT

PAGE = ROOT / "docs" / "api-reference.md"
GENERATED_MARKER = (
    "<!-- Generated from openapi/parley.yaml by `python -m devtools.api_reference`: "
    "edit the spec, not this part. -->"
)
METHODS = ("get", "post", "put", "patch", "delete")
# Section order and titles; an operation's first tag places it.
TAGS = {
    "ingest": "Ingest API",
    "otlp": "OpenTelemetry (OTLP/HTTP)",
    "conversations": "Conversations API",
    "runs": "Converra SDK routes",
    "webhooks": "Webhooks",
    "console": "Web console",
}


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _bounds(low: Any, high: Any, what: str) -> str:
    if low is not None and high is not None:
        return f" ({what}{low} to {high})"
    if low is not None:
        return f" ({what}at least {low})"
    if high is not None:
        return f" ({what}at most {high})"
    return ""


def schema_text(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """A short type: `string (length 1 to 200)`, `integer (1 to 1000), default 100`, `Record`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})" if "/schemas/" in schema["$ref"] else name
    for combinator, joiner in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
        if combinator in schema:
            return joiner.join(schema_text(spec, part) for part in schema[combinator])
    if "const" in schema:
        return f"`{schema['const']!r}`".replace("'", '"')
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type", "object" if "properties" in schema else "any")
    text = " or ".join(kind) if isinstance(kind, list) else str(kind)
    if kind == "array" and "items" in schema:
        text = f"array of {schema_text(spec, schema['items'])}"
    text += _bounds(schema.get("minimum"), schema.get("maximum"), "")
    text += _bounds(schema.get("minLength"), schema.get("maxLength"), "length ")
    text += _bounds(schema.get("minItems"), schema.get("maxItems"), "items ")
    if "format" in schema:
        text += f", {schema['format']}"
    if "default" in schema:
        text += f", default `{schema['default']}`"
    return text


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    schema = _resolve(spec, schema)
    properties = schema.get("properties") or {}
    if not properties:
        return []
    required = set(schema.get("required") or ())
    rows = ["| field | type | required | description |", "| --- | --- | --- | --- |"]
    for name, prop in properties.items():
        rows.append(
            f"| `{name}` | {schema_text(spec, prop)} | {'yes' if name in required else ''} "
            f"| {_one_line(prop.get('description'))} |"
        )
    return rows


def _operation(spec: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> list[str]:
    out = [f"### `{method.upper()} {path}`", "", _one_line(op.get("summary")) + "."]
    if op.get("description"):
        out += ["", " ".join(op["description"].split())]
    parameters = [_resolve(spec, p) for p in op.get("parameters", [])]
    if parameters:
        out += ["", "| parameter | in | type | required | description |"]
        out += ["| --- | --- | --- | --- | --- |"]
        for p in parameters:
            out.append(
                f"| `{p['name']}` | {p['in']} | {schema_text(spec, p.get('schema', {}))} "
                f"| {'yes' if p.get('required') else ''} | {_one_line(p.get('description'))} |"
            )
    if "requestBody" in op:
        body = _resolve(spec, op["requestBody"])
        for media, content in body.get("content", {}).items():
            schema = content.get("schema", {})
            out += ["", f"Body (`{media}`): {schema_text(spec, schema)}."]
            out += ["", *rows] if (rows := _properties(spec, schema)) else []
    out += ["", "| answer | meaning | body |", "| --- | --- | --- |"]
    for status, answer in op.get("responses", {}).items():
        answer = _resolve(spec, answer)
        bodies = ", ".join(
            f"`{media}` {schema_text(spec, content.get('schema', {}))}"
            for media, content in answer.get("content", {}).items()
        )
        out.append(f"| {status} | {_one_line(answer.get('description'))} | {bodies} |")
    return [*out, ""]


def generated(spec: dict[str, Any]) -> str:
    sections: dict[str, list[str]] = {tag: [] for tag in TAGS}
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                sections[op["tags"][0]] += _operation(spec, method, path, op)
    out = [GENERATED_MARKER, ""]
    for tag, lines in sections.items():
        if lines:
            out += [f"## {TAGS[tag]}", "", *lines]
    out += ["## Schemas", ""]
    for name, schema in spec["components"]["schemas"].items():
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [" ".join(schema["description"].split()), ""]
        rows = _properties(spec, schema)
        out += [*rows, ""] if rows else [f"{schema_text(spec, schema)}.", ""]
    return "\n".join(out).rstrip() + "\n"


def page(spec: dict[str, Any], current: str) -> str:
    """The page with its generated part replaced (the introduction before the marker kept)."""
    introduction = current.split(GENERATED_MARKER)[0].rstrip()
    return f"{introduction}\n\n{generated(spec)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    current = PAGE.read_text()
    expected = page(load_spec(), current)
    if args.check:
        if current != expected:
            print(f"{PAGE} is stale: run python -m devtools.api_reference", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
