"""Reads template.yaml, so tables, routes and gateway answers are declared in one place and the
local server and tests follow it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref X → {"Ref": "X"})."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)
    return loaded


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == kind}


# --- tables -----------------------------------------------------------------------------------

_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
)


def table_names(template: dict[str, Any], prefix: str) -> dict[str, str]:
    """Logical id → the table name used outside AWS (CloudFormation names them on AWS)."""
    return {
        logical: f"{prefix}-{logical}" for logical in resources(template, "AWS::DynamoDB::Table")
    }


def create_table_requests(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """CreateTable arguments for every table in the template."""
    names = table_names(template, prefix)
    requests = []
    for logical, resource in resources(template, "AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        request: dict[str, Any] = {
            "TableName": names[logical],
            "BillingMode": "PAY_PER_REQUEST",
        }
        request.update(
            {key: _with_defaults(template, props[key]) for key in _TABLE_KEYS if key in props}
        )
        if "StreamSpecification" in props:  # the API also wants StreamEnabled
            view = props["StreamSpecification"]["StreamViewType"]
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        requests.append(request)
    return requests


def _with_defaults(template: dict[str, Any], value: Any) -> Any:
    """`value` as CloudFormation resolves it with every parameter at its default: `!Ref`
    to a parameter, and `!If` on a condition made of `!Equals`."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in template.get("Parameters", {}):
            return parameter_default(template, value["Ref"])
        if set(value) == {"Fn::If"}:
            condition, if_true, if_false = value["Fn::If"]
            chosen = if_true if _condition(template, condition) else if_false
            return _with_defaults(template, chosen)
        return {k: _with_defaults(template, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_defaults(template, v) for v in value]
    return value


def table_environment(template: dict[str, Any], prefix: str) -> dict[str, str]:
    """The table-name environment variables of Globals, resolved to local table names."""
    names = table_names(template, prefix)
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {
        var: names[value["Ref"]]
        for var, value in variables.items()
        if isinstance(value, dict) and value.get("Ref") in names
    }


# --- functions and routes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: str  # e.g. "functions/ingest/"
    handler: str  # e.g. "app.handler"

    @property
    def module_file(self) -> Path:
        module, _ = self.handler.rsplit(".", 1)
        return ROOT / self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def module_name(self) -> str:
        """Dotted name from the repo root: functions/ingest/app.py → functions.ingest.app."""
        module, _ = self.handler.rsplit(".", 1)
        return ".".join([*Path(self.code_uri).parts, module])

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class ApiRoute:
    method: str  # upper case
    path: str  # template, e.g. /v1/conversations/{conversationId}/records
    function: Function
    api: str  # logical id of the AWS::Serverless::Api
    authorized: bool = True  # False: `Auth: {Authorizer: NONE}` on the event (a public route)

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        return re.compile(f"^{regex}$")


def functions(template: dict[str, Any]) -> dict[str, Function]:
    return {
        name: Function(name, res["Properties"]["CodeUri"], res["Properties"]["Handler"])
        for name, res in resources(template, "AWS::Serverless::Function").items()
    }


def api_routes(template: dict[str, Any]) -> list[ApiRoute]:
    by_id = functions(template)
    routes = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            props = event["Properties"]
            routes.append(
                ApiRoute(
                    method=props["Method"].upper(),
                    path=props["Path"],
                    function=by_id[name],
                    api=props["RestApiId"]["Ref"],
                    authorized=(props.get("Auth") or {}).get("Authorizer") != "NONE",
                )
            )
    return routes


def authorizer_function(template: dict[str, Any], api: str) -> Function:
    """The function behind an API's default authorizer."""
    auth = template["Resources"][api]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    logical_id = authorizer["FunctionArn"]["Fn::GetAtt"][0]
    return functions(template)[logical_id]


@dataclass(frozen=True)
class GatewayAnswer:
    status: int | None  # None: keep the status API Gateway chose (DEFAULT_4XX/5XX)
    body_template: str
    headers: dict[str, str]

    def render(self, request_id: str, message: str, status: int) -> tuple[int, str]:
        body = self.body_template.replace("$context.requestId", request_id)
        quoted = '"' + message.replace("\\", "\\\\").replace('"', '\\"') + '"'
        body = body.replace("$context.error.messageString", quoted)
        return (self.status or status), body


def gateway_responses(
    template: dict[str, Any], api: str, origins: Mapping[str, str] | None = None
) -> dict[str, GatewayAnswer]:
    """An API's GatewayResponses; header values resolved with `local_value` (`origins`: each
    API's local origin), a header that does not resolve locally is left out."""
    answers = {}
    for kind, spec in template["Resources"][api]["Properties"]["GatewayResponses"].items():
        headers = _header_values(
            template, spec.get("ResponseParameters", {}).get("Headers") or {}, origins or {}
        )
        answers[kind] = GatewayAnswer(
            status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
            body_template=spec["ResponseTemplates"]["application/json"],
            headers=headers,
        )
    return answers


def _header_values(
    template: dict[str, Any], headers: Mapping[str, Any], origins: Mapping[str, str]
) -> dict[str, str]:
    """API Gateway header mappings ("'value'": a literal) as local values."""
    resolved = {}
    for name, value in headers.items():
        local = local_value(template, value, origins)
        if local is not None:
            resolved[name] = local.strip("'")
    return resolved


# An API's deployed URL, as the template writes it; locally that API's origin (no stage path).
_API_URL = re.compile(
    r"https://\$\{(\w+)\}\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}(?:/\$\{Stage\})?"
)


def local_value(template: dict[str, Any], value: Any, origins: Mapping[str, str]) -> str | None:
    """A template value as it resolves for the local server: parameters at their defaults,
    `!If` on their conditions, and an API's execute-api URL (`!Sub https://${Api}.execute-api.
    ${AWS::Region}.${AWS::URLSuffix}[/${Stage}]`) as that API's local origin from `origins`.
    None when it does not resolve (another intrinsic, an API not served locally)."""
    value = _with_defaults(template, value)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        value = _API_URL.sub(lambda m: origins.get(m[1], m[0]), value["Fn::Sub"])
        if "${" in value:
            return None
    return str(value) if isinstance(value, str | int | float) else None


@dataclass(frozen=True)
class Cors:
    """An API's `Cors` setting: what API Gateway answers a preflight (OPTIONS) with."""

    headers: dict[str, str]  # Access-Control-* of the preflight answer
    authorized: bool  # the preflight goes through the default authorizer (SAM's default)


def api_cors(template: dict[str, Any], api: str, origins: Mapping[str, str]) -> Cors | None:
    props = template["Resources"][api]["Properties"]
    spec = props.get("Cors")
    if spec is None:
        return None
    if isinstance(spec, str):  # the short form: only the allowed origin
        spec = {"AllowOrigin": spec}
    names = {
        "AllowOrigin": "Access-Control-Allow-Origin",
        "AllowMethods": "Access-Control-Allow-Methods",
        "AllowHeaders": "Access-Control-Allow-Headers",
        "MaxAge": "Access-Control-Max-Age",
    }
    headers = _header_values(
        template, {names[k]: v for k, v in spec.items() if k in names}, origins
    )
    if spec.get("AllowCredentials") is True:
        headers["Access-Control-Allow-Credentials"] = "true"
    auth = props.get("Auth") or {}
    return Cors(headers, authorized=auth.get("AddDefaultAuthorizerToCorsPreflight", True) is True)


def stage_variables(
    template: dict[str, Any], api: str, origins: Mapping[str, str]
) -> dict[str, str]:
    """An API's stage variables (`Variables`) that resolve locally."""
    variables = template["Resources"][api]["Properties"].get("Variables") or {}
    resolved = {name: local_value(template, value, origins) for name, value in variables.items()}
    return {name: value for name, value in resolved.items() if value is not None}


# --- local emulation helpers (devtools.server, devtools.cli) -------------------------------------


def apis(template: dict[str, Any]) -> list[str]:
    """Logical ids of the REST APIs (AWS::Serverless::Api), in template order."""
    return list(resources(template, "AWS::Serverless::Api"))


def _condition(template: dict[str, Any], name: str) -> bool:
    return _evaluate(template, template["Conditions"][name])


def _evaluate(template: dict[str, Any], condition: dict[str, Any]) -> bool:
    """A condition made of `!Equals` and `!Not`, with every parameter at its default."""
    if "Fn::Not" in condition:
        return not _evaluate(template, condition["Fn::Not"][0])
    left, right = condition["Fn::Equals"]
    return bool(_with_defaults(template, left) == _with_defaults(template, right))


def parameter_default(template: dict[str, Any], name: str) -> Any:
    return template.get("Parameters", {}).get(name, {}).get("Default")


def function_setting(template: dict[str, Any], logical_id: str, name: str) -> Any:
    """A function property (Timeout, MemorySize, …): its own value, else the Globals one."""
    props = template["Resources"][logical_id]["Properties"]
    if name in props:
        return props[name]
    return template.get("Globals", {}).get("Function", {}).get(name)


def global_environment(template: dict[str, Any], prefix: str) -> dict[str, str]:
    """Every Globals environment variable, resolved for local use: table refs → local table
    names, parameter refs → the parameter's default, literals as written. Anything else (e.g.
    !GetAtt) is left out."""
    names = table_names(template, prefix)
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    resolved: dict[str, str] = {}
    for var, value in (variables.get("Variables") or {}).items():
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            if ref in names:
                resolved[var] = names[ref]
            elif parameter_default(template, ref) is not None:
                resolved[var] = str(parameter_default(template, ref))
        elif isinstance(value, str | int | float):
            resolved[var] = str(value)
    return resolved


@dataclass(frozen=True)
class Authorizer:
    """An API's default Lambda authorizer: its function, payload type and identity sources."""

    name: str
    function: Function
    payload_type: str  # REQUEST or TOKEN
    identity_headers: tuple[str, ...]
    identity_query_strings: tuple[str, ...]


def api_authorizer(template: dict[str, Any], api: str) -> Authorizer | None:
    """The default authorizer of an API, None when it has none."""
    auth = template["Resources"][api]["Properties"].get("Auth") or {}
    name = auth.get("DefaultAuthorizer")
    if not name or name == "NONE":
        return None
    spec = auth["Authorizers"][name]
    identity = spec.get("Identity") or {}
    return Authorizer(
        name=name,
        function=authorizer_function(template, api),
        payload_type=str(spec.get("FunctionPayloadType", "TOKEN")).upper(),
        identity_headers=tuple(identity.get("Headers") or ()),
        identity_query_strings=tuple(identity.get("QueryStrings") or ()),
    )
