"""The template against the code: handlers resolve and import only what the Lambda package holds,
every route is exercised by an events/ file, and the test tables are the template's tables."""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from devtools.template import (
    ROOT,
    api_routes,
    create_table_requests,
    functions,
    load_template,
    resources,
    table_names,
)
from tests.conftest import TABLE_PREFIX
from tests.integration import test_events

TEMPLATE = load_template()
FUNCTIONS = functions(TEMPLATE)
ROUTES = api_routes(TEMPLATE)

# Provided by the Lambda Python runtime itself, so not shipped in the layer.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
# Standard library only from Python 3.14, imported only there (shared/ingest/codec.py; before
# it, backports.zstd from the layer).
STDLIB_FROM_3_14 = {"compression"}


# --- handlers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handler_resolves_to_a_callable(logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    assert function.module_file.is_file(), function.module_file
    module = importlib.import_module(function.module_name)
    handler = getattr(module, function.attribute, None)
    assert callable(handler), f"{function.handler} in {function.code_uri} is not callable"


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """(module, level) of every import, except those under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        for inner in ast.walk(child)
    }
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handler_imports_only_what_the_lambda_package_holds(logical_id: str) -> None:
    """On Lambda the handler is the top-level module `app` next to the layer's `shared`:
    relative imports and repo-only packages would fail there, not here."""
    function = FUNCTIONS[logical_id]
    code_dir = ROOT / function.code_uri
    assert sorted(p.name for p in code_dir.iterdir() if p.name != "__pycache__") == [
        function.module_file.name
    ], f"{function.code_uri} should hold just its handler"
    for module, level in imported_modules(function.module_file):
        assert level == 0, f"relative import in {function.module_file}"
        assert module.split(".")[0] not in {"functions", "devtools", "tests"}, module


def _requirement_closure(names: list[str]) -> set[str]:
    """Distributions the names require, transitively (normalized names)."""
    seen: set[str] = set()
    todo = [Requirement(n) for n in names]
    while todo:
        req = todo.pop()
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo += [Requirement(r) for r in metadata.requires(req.name) or []]
    return seen


def test_shipped_code_imports_only_layer_or_runtime_packages() -> None:
    """Every third-party import of shared/ and functions/ comes with the layer (pyproject's
    dependencies, which `make build-SharedLayer` installs) or with the Lambda runtime."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    layer = _requirement_closure([d for d in dependencies if not d.startswith("boto3")])
    providers = metadata.packages_distributions()
    files = [*(ROOT / "shared").rglob("*.py"), *(f.module_file for f in FUNCTIONS.values())]
    missing = set()
    for path in files:
        for module, level in imported_modules(path):
            top = module.split(".")[0]
            if level or top in sys.stdlib_module_names | STDLIB_FROM_3_14:
                continue
            if top in RUNTIME_PROVIDED | {"shared"}:
                continue
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(top, [top])}
            if not dists & layer:
                missing.add(f"{path.relative_to(ROOT)}: {top}")
    assert not missing, f"imported but not in the layer: {sorted(missing)}"


# --- routes and events -------------------------------------------------------------------------


def event_files_for(route: Any) -> list[str]:
    names = []
    for name in test_events.PROXY_FILES:
        event = json.loads((test_events.EVENTS_DIR / name).read_text())
        if (
            test_events.function_for(test_events.EVENTS_DIR / name) == route.function
            and event["resource"] == route.path
            and event["httpMethod"] == route.method
            and route.pattern.match(event["path"])
        ):
            names.append(name)
    return names


def test_there_are_routes() -> None:
    assert ROUTES


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_is_invoked_by_an_events_file(route: Any) -> None:
    """test_events runs every PROXY_FILES entry through its handler, so this route is tested."""
    names = event_files_for(route)
    assert names, f"no events/ file sends {route.method} {route.path} to {route.function}"
    for name in names:
        event = json.loads((test_events.EVENTS_DIR / name).read_text())
        match = route.pattern.match(event["path"])
        assert match is not None
        assert (event["pathParameters"] or {}) == match.groupdict(), name


def _event_triggered() -> set[Any]:
    """Functions fed by a stream or a queue, or run on a schedule, rather than by a route."""
    return {
        FUNCTIONS[name]
        for name, res in resources(TEMPLATE, "AWS::Serverless::Function").items()
        if any(
            e.get("Type") in ("DynamoDB", "SQS", "Schedule")
            for e in (res["Properties"].get("Events") or {}).values()
        )
    }


def test_every_function_is_routed_the_authorizer_or_event_triggered() -> None:
    routed = {r.function for r in ROUTES}
    authorizer = test_events.AUTHORIZER
    triggered = _event_triggered()
    assert routed | {authorizer} | triggered == set(FUNCTIONS.values())
    assert authorizer not in routed
    assert not routed & triggered


# --- tables ------------------------------------------------------------------------------------


def _key_schema(elements: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(e["AttributeName"], e["KeyType"]) for e in elements]


@pytest.mark.parametrize("logical_id", sorted(resources(TEMPLATE, "AWS::DynamoDB::Table")))
def test_test_tables_are_the_template_tables(dynamodb: Any, logical_id: str) -> None:
    """tests/conftest.py builds its moto tables from template.yaml: same keys, same indexes."""
    props = TEMPLATE["Resources"][logical_id]["Properties"]
    name = table_names(TEMPLATE, TABLE_PREFIX)[logical_id]
    assert name in {r["TableName"] for r in create_table_requests(TEMPLATE, TABLE_PREFIX)}

    table = dynamodb.describe_table(TableName=name)["Table"]

    assert _key_schema(table["KeySchema"]) == _key_schema(props["KeySchema"])
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]
    }
    for kind in ("LocalSecondaryIndexes", "GlobalSecondaryIndexes"):
        expected = {i["IndexName"]: _key_schema(i["KeySchema"]) for i in props.get(kind, [])}
        actual = {i["IndexName"]: _key_schema(i["KeySchema"]) for i in table.get(kind, [])}
        assert actual == expected, kind


def test_every_template_table_is_in_the_function_environment() -> None:
    """Each table reaches the code through a Globals environment variable."""
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    referenced = {v["Ref"] for v in variables.values() if isinstance(v, dict) and "Ref" in v}
    assert set(resources(TEMPLATE, "AWS::DynamoDB::Table")) <= referenced
