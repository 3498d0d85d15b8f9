"""openapi/parley.yaml is valid OpenAPI 3.1 and documents exactly the routes of template.yaml."""

from __future__ import annotations

from openapi_spec_validator import validate

from devtools.openapi import load_spec
from devtools.template import api_routes, load_template

METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def documented() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in load_spec()["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_spec_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1.")
    validate(spec)


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    routes = {(route.method, route.path) for route in api_routes(load_template())}
    assert routes, "template.yaml has no routes"
    assert documented() - routes == set(), "documented but not in template.yaml"
    assert routes - documented() == set(), "in template.yaml but not documented"


def test_every_operation_answers_errors_in_its_envelope() -> None:
    for path, item in load_spec()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert "default" in operation["responses"], (method, path)
                assert any(s.startswith("2") for s in operation["responses"]), (method, path)
