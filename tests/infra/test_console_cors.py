"""The deployed web console reads both APIs: the conversations API lets exactly the console's
origin (the ingest API's, or the ConsoleOrigin parameter) read it — its preflights without the
authorizer, its gateway answers and the console's functions' answers — and the console learns
the conversations API's URL without a dependency cycle between the two APIs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devtools.template import load_template
from tests.infra.test_template import GATEWAY_ANSWERS, of_type, rest_api, translated

# What the console's origin is, in CloudFormation: the parameter, else the ingest API's host.
CONSOLE_ORIGIN = {
    "Fn::If": [
        "HasConsoleOrigin",
        {"Ref": "ConsoleOrigin"},
        {"Fn::Sub": "https://${IngestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
    ]
}
# The same as an API Gateway header mapping value (a quoted literal).
CONSOLE_ORIGIN_QUOTED = {
    "Fn::If": [
        "HasConsoleOrigin",
        {"Fn::Sub": "'${ConsoleOrigin}'"},
        {"Fn::Sub": "'https://${IngestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}'"},
    ]
}
# The functions behind the console's conversations-API calls (app.js): GET only.
CONSOLE_READS = {
    "ConversationsListFunction",
    "ConversationsGetFunction",
    "ConversationsInsightsFunction",
    "AnalyticsFunction",  # the dashboard's charts (issue 17)
    "ClustersFunction",  # the dashboard's top clusters (issue 17)
}


def test_the_console_origin_parameter_is_one_origin_or_empty() -> None:
    template = load_template()
    parameter = template["Parameters"]["ConsoleOrigin"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("", "https://console.example.com", "https://localhost:8443"):
        assert pattern.fullmatch(good), good
    # https only: a key typed into a page served over plain HTTP could be read on the way.
    for bad in (
        "*",
        "http://console.example.com",
        "https://a.example/",
        "https://a.example/path",
        "a.example",
        "https://a b",
    ):
        assert not pattern.fullmatch(bad), bad
    assert template["Conditions"]["HasConsoleOrigin"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleOrigin"}, ""]}]
    }


def test_every_conversations_path_answers_the_consoles_preflight_without_a_key() -> None:
    for path, methods in rest_api("ConversationsApi")["paths"].items():
        options = methods["options"]
        # No authorizer, no usage-plan key: a browser's preflight carries neither.
        assert not options.get("security"), path
        integration = options["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        assert integration["responses"]["default"]["responseParameters"] == {
            "method.response.header.Access-Control-Allow-Origin": CONSOLE_ORIGIN_QUOTED,
            "method.response.header.Access-Control-Allow-Methods": "'GET'",
            "method.response.header.Access-Control-Allow-Headers": "'Authorization'",
            "method.response.header.Access-Control-Max-Age": "'600'",
        }, path  # no Allow-Credentials: the key is a header, not a cookie


def test_the_ingest_api_answers_no_preflight() -> None:
    for path, methods in rest_api("IngestApi")["paths"].items():
        assert "options" not in methods, path
    for spec in rest_api("IngestApi")["x-amazon-apigateway-gateway-responses"].values():
        assert not [p for p in spec.get("responseParameters") or {} if "Access-Control" in p]


@pytest.mark.parametrize("kind", sorted(GATEWAY_ANSWERS))
def test_conversations_gateway_answers_are_readable_by_the_console(kind: str) -> None:
    spec = rest_api("ConversationsApi")["x-amazon-apigateway-gateway-responses"][kind]
    headers = spec["responseParameters"]
    assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == CONSOLE_ORIGIN_QUOTED
    assert headers["gatewayresponse.header.Access-Control-Expose-Headers"] == "'Retry-After'"
    assert headers["gatewayresponse.header.Vary"] == "'Origin'"


def environment(resource: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = resource["Properties"].get("Environment", {}).get("Variables", {})
    return variables


def test_only_the_functions_the_console_reads_through_allow_its_origin() -> None:
    functions = of_type("AWS::Lambda::Function")
    allowing = {
        name for name, fn in functions.items() if "PARLEY_CONSOLE_ORIGIN" in environment(fn)
    }
    assert allowing == CONSOLE_READS
    for name in CONSOLE_READS:
        assert environment(functions[name])["PARLEY_CONSOLE_ORIGIN"] == CONSOLE_ORIGIN


def test_the_console_is_told_the_conversations_api_url_by_a_stage_variable() -> None:
    stages = {
        stage["Properties"]["RestApiId"]["Ref"]: stage["Properties"]
        for stage in of_type("AWS::ApiGateway::Stage").values()
    }
    url = translated()["Outputs"]["ConversationsApiUrl"]["Value"]
    assert stages["IngestApi"]["Variables"] == {"conversationsApiUrl": url}
    assert not stages["ConversationsApi"].get("Variables")
    console = translated()["Outputs"]["ConsoleUrl"]["Value"]["Fn::Sub"]
    assert console.startswith("https://${IngestApi}.")
    assert console.endswith("/${Stage}/")


def references(value: Any) -> set[str]:
    """Logical ids a CloudFormation value depends on (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner if isinstance(inner, str) else inner[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def test_no_dependency_cycle_between_the_apis_and_the_console() -> None:
    # cfn-lint does not look through the SAM transform: a cycle would fail only at deploy.
    resources = translated()["Resources"]
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else depends
        graph[name] = (references(resource) | set(depends)) & set(resources)
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, " → ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    # The chain this design relies on, one way only.
    assert "IngestApi" in graph["ConversationsApi"]
    assert "ConsoleFunction" in graph["IngestApi"]
    assert "ConversationsApi" not in graph["ConsoleFunction"]
