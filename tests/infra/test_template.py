"""template.yaml: cfn-lint clean, and what the SAM transform makes of it is what we deploy on
purpose (REQUEST authorizer on every route, the API's own gateway answers, PITR, arm64 +
python3.13 + the layer everywhere)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from devtools.template import TEMPLATE_PATH, api_routes, load_template

CFN_LINT = Path(sys.executable).parent / "cfn-lint"
RUNTIME = "python3.13"


def test_cfn_lint_is_clean() -> None:
    assert CFN_LINT.exists(), f"cfn-lint is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(CFN_LINT), str(TEMPLATE_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


# --- the SAM transform -------------------------------------------------------------------------


class _ManagedPolicies:
    """Stands in for the IAM lookup of AWS managed policy ARNs."""

    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": (
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            ),
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        }


def packaged_and_transformed(sam: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The CloudFormation the transform makes of a SAM template after `sam package` put each
    function's and layer's code on S3 (as `<resource>.zip`), and each such S3 key → the local
    CodeUri / ContentUri it came from."""
    local_uris: dict[str, str] = {}
    for name, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                local_uris[f"{name}.zip"] = props[key]
                props[key] = f"s3://parley-artifacts/{name}.zip"
    result: dict[str, Any] = transform(
        sam, {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}, _ManagedPolicies()
    )
    return result, local_uris


@cache
def translated() -> dict[str, Any]:
    """The CloudFormation the transform makes of template.yaml, after `sam package`."""
    return packaged_and_transformed(yaml_parse(TEMPLATE_PATH.read_text()))[0]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in translated()["Resources"].items() if v["Type"] == kind}


def test_transform_succeeds() -> None:
    assert "Transform" not in translated()
    assert of_type("AWS::Lambda::Function")


APIS = ("IngestApi", "ConversationsApi")


def rest_api(name: str) -> dict[str, Any]:
    body: dict[str, Any] = of_type("AWS::ApiGateway::RestApi")[name]["Properties"]["Body"]
    return body


def test_two_regional_rest_apis_with_one_stage_each() -> None:
    apis = of_type("AWS::ApiGateway::RestApi")
    assert set(apis) == set(APIS)
    for api in apis.values():
        assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    # OpenApiVersion set: SAM makes no extra "Stage" stage next to ours.
    stages = of_type("AWS::ApiGateway::Stage").values()
    assert len(stages) == len(APIS)
    for stage in stages:
        assert stage["Properties"]["StageName"] == {"Ref": "Stage"}
        assert stage["Properties"]["TracingEnabled"] is True


@pytest.mark.parametrize("api", APIS)
def test_authorizer_is_a_request_authorizer_on_the_authorization_header(api: str) -> None:
    # SAM puts the authorizer into the API definition, not an AWS::ApiGateway::Authorizer.
    schemes = rest_api(api)["components"]["securitySchemes"]
    authorizer = schemes["ApiKeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "request"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 60  # the parameter's default
    function_arn = authorizer["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"]
    # One authorizer function (and one key table) for both APIs: a key works on each.
    assert function_arn == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    permissions = [
        p["Properties"]
        for p in of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    ]
    assert len(permissions) >= len(APIS)
    assert all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions)


# The web console's static page holds no data: the only routes without the authorizer.
PUBLIC_ROUTES = {("get", "/"), ("get", "/console/{file}")}


@pytest.mark.parametrize("api", APIS)
def test_every_route_is_behind_the_authorizer(api: str) -> None:
    # The CORS preflights (OPTIONS, answered by the gateway): tests/infra/test_console_cors.py.
    paths = {
        path: {m: op for m, op in methods.items() if m != "options"}
        for path, methods in rest_api(api)["paths"].items()
    }
    routes = {(r.method.lower(), r.path) for r in api_routes(load_template()) if r.api == api}
    assert routes
    assert {(m, p) for p, methods in paths.items() for m in methods} == routes
    for path, methods in paths.items():
        for method, operation in methods.items():
            # Private routes: the authorizer and the usage plan's key the authorizer names
            # (tests/infra/test_usage_plans.py); the console's page: neither.
            security = (
                []
                if (method, path) in PUBLIC_ROUTES
                else [{"ApiKeyAuthorizer": []}, {"api_key": []}]
            )
            assert operation["security"] == security, (method, path)
            assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"


# The answers API Gateway gives itself: status (None: the gateway's own 4xx/5xx), retryable,
# and the conversations API's code.
GATEWAY_ANSWERS = {
    "UNAUTHORIZED": ("401", False, "UNAUTHORIZED"),
    "ACCESS_DENIED": ("403", False, "UNAUTHORIZED"),
    "MISSING_AUTHENTICATION_TOKEN": ("404", False, "NOT_FOUND"),
    "REQUEST_TOO_LARGE": ("413", False, "PAYLOAD_TOO_LARGE"),
    "THROTTLED": ("429", True, "RATE_LIMITED"),
    "QUOTA_EXCEEDED": ("429", True, "RATE_LIMITED"),  # the key's usage plan's daily quota
    # The authorizer could not look the key up in time: retryable, never a bare 500.
    "AUTHORIZER_FAILURE": ("503", True, "SERVICE_UNAVAILABLE"),
    "AUTHORIZER_CONFIGURATION_ERROR": ("503", True, "SERVICE_UNAVAILABLE"),
    "DEFAULT_4XX": (None, False, "VALIDATION_ERROR"),
    "DEFAULT_5XX": (None, True, "INTERNAL"),
}
RETRY_AFTER = {
    "THROTTLED": "'1'",
    "QUOTA_EXCEEDED": "'3600'",
    "AUTHORIZER_FAILURE": "'2'",
    "AUTHORIZER_CONFIGURATION_ERROR": "'2'",
}


def render(template: str, request_id: str, message: str) -> str:
    """What API Gateway does: $context.error.messageString is the message, already quoted."""
    return template.replace("$context.requestId", request_id).replace(
        "$context.error.messageString", json.dumps(message)
    )


@pytest.mark.parametrize("api", APIS)
def test_gateway_responses_are_exactly_the_documented_ones(api: str) -> None:
    assert set(rest_api(api)["x-amazon-apigateway-gateway-responses"]) == set(GATEWAY_ANSWERS)


def gateway_response(api: str, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(spec, rendered body) of one gateway answer."""
    status, _, _ = GATEWAY_ANSWERS[kind]
    spec = rest_api(api)["x-amazon-apigateway-gateway-responses"][kind]
    assert spec.get("statusCode") == status
    assert set(spec["responseTemplates"]) == {"application/json"}
    # The web console's CORS headers: tests/infra/test_console_cors.py.
    parameters = {
        name: value
        for name, value in (spec.get("responseParameters") or {}).items()
        if not name.startswith(
            ("gatewayresponse.header.Access-Control-", "gatewayresponse.header.Vary")
        )
    }
    if kind in RETRY_AFTER:
        assert parameters == {"gatewayresponse.header.Retry-After": RETRY_AFTER[kind]}
    else:
        assert not parameters, spec
    body = json.loads(render(spec["responseTemplates"]["application/json"], "req-1", 'a "b" c'))
    return spec, body


@pytest.mark.parametrize("kind", sorted(GATEWAY_ANSWERS))
def test_ingest_gateway_response_is_the_ingest_envelope(kind: str) -> None:
    _, retryable, _ = GATEWAY_ANSWERS[kind]
    _, body = gateway_response("IngestApi", kind)

    assert set(body) == {"success", "count", "message", "requestId", "retryable"}
    assert body["success"] is False
    assert body["count"] == 0
    assert body["requestId"] == "req-1"
    assert body["retryable"] is retryable
    assert isinstance(body["message"], str)
    assert body["message"]
    if kind == "UNAUTHORIZED":
        # The wording the replaced ingest API answers.
        assert body["message"] == "Invalid or missing API key"


@pytest.mark.parametrize("kind", sorted(GATEWAY_ANSWERS))
def test_conversations_gateway_response_is_the_conversations_envelope(kind: str) -> None:
    _, _, code = GATEWAY_ANSWERS[kind]
    _, body = gateway_response("ConversationsApi", kind)

    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def test_conversations_table_serves_its_queries_and_feeds_a_stream() -> None:
    sam = load_template()
    props = sam["Resources"]["ConversationsTable"]["Properties"]
    assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    (index,) = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_tenant"
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("gpk", "HASH"),
        ("gsk", "RANGE"),
    ]
    # what a listed conversation shows and the filters read, so a list never reads the table
    assert set(index["Projection"]["NonKeyAttributes"]) == {
        "prompt_id",
        "status",
        "has_insights",
        "created_at",
    }
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert sam["Resources"]["ConversationsTable"]["DeletionPolicy"] == "Retain"


def test_every_table_has_point_in_time_recovery() -> None:
    tables = of_type("AWS::DynamoDB::Table")
    assert tables
    for name, table in tables.items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, (
            name
        )
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["SSESpecification"] == {"SSEEnabled": True}, name


SEARCH_DEPENDENCIES = ("tantivy", "duckdb")  # LakeLayer's and SearchLayer's


def test_layers_are_arm64_python313() -> None:
    layers = of_type("AWS::Lambda::LayerVersion").values()
    assert len(layers) == 5  # SharedLayer, InsightsLayer, LakeLayer, SearchLayer, ClustersLayer
    for layer in layers:
        assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME]
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_layer_is_built_by_the_root_makefile_in_place() -> None:
    """`sam build` runs `make build-SharedLayer` from the root Makefile, in the repo root (no copy
    of the checkout), for the architecture and Python version the functions run on."""
    sam = load_template()
    root = TEMPLATE_PATH.parent
    makefile = (root / "Makefile").read_text()
    for layer_id, layer in sam["Resources"].items():
        if layer["Type"] != "AWS::Serverless::LayerVersion":
            continue
        metadata = layer["Metadata"]
        assert metadata["BuildMethod"] == "makefile"
        assert metadata["BuildArchitecture"] == "arm64"
        assert (root / metadata["ContextPath"]).resolve() == root  # the Makefile SAM runs
        assert (root / metadata["WorkingDirectory"]).resolve() == root  # where it runs it
        assert layer["Properties"]["ContentUri"] != ".", "SAM would copy the whole checkout"
        assert f"\nbuild-{layer_id}:" in makefile
    # Lambda's architecture unless told otherwise (the bench builds the layer for its host).
    assert "\nLAYER_ARCH ?= aarch64\n" in makefile
    assert "--python-version 3.13" in makefile


def test_layers_take_every_manylinux_wheel_lambdas_glibc_runs(tmp_path: Path) -> None:
    """Lambda's python3.13 runtime has glibc 2.34: both layers accept manylinux2014 up to
    manylinux_2_34 (numpy 2.5 has only manylinux_2_28 arm64 wheels), the newest first."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    expected = [f"manylinux_2_{minor}_aarch64" for minor in range(34, 16, -1)]
    expected.append("manylinux2014_aarch64")
    for layer in ("SharedLayer", "InsightsLayer"):
        result = subprocess.run(
            [make, "-n", f"build-{layer}", f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={sys.executable}"],
            cwd=TEMPLATE_PATH.parent,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        (pip_line,) = (line for line in result.stdout.splitlines() if " pip install " in line)
        assert re.findall(r"--platform (\S+)", pip_line) == expected, pip_line


def test_every_function_is_arm64_python313_with_the_layer() -> None:
    layers = of_type("AWS::Lambda::LayerVersion")
    (shared,) = (k for k in layers if k.startswith("SharedLayer"))
    (insights,) = (k for k in layers if k.startswith("InsightsLayer"))
    (lake,) = (k for k in layers if k.startswith("LakeLayer"))
    (search,) = (k for k in layers if k.startswith("SearchLayer"))
    functions = of_type("AWS::Lambda::Function")
    assert set(functions) == set(load_template()["Resources"]) & set(functions)
    for name, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == RUNTIME, name
        assert props["Architectures"] == ["arm64"], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        if name == "InsightsWorkerFunction":  # the analyzers' dependencies: only here
            assert props["Layers"] == [{"Ref": shared}, {"Ref": insights}], name
            continue
        if name == "LakeCompactionFunction":  # compacts, then builds the search index
            assert props["Layers"] == [{"Ref": shared}, {"Ref": lake}, {"Ref": search}], name
            assert props["Timeout"] > 20, name
            continue
        if name.startswith("Lake") and name != "LakeFilesFunction":  # DuckDB: lake workers only
            assert props["Layers"] == [{"Ref": shared}, {"Ref": lake}], name
            assert props["Timeout"] > 20, name
            continue
        if name in ("ClusteringFunction", "ClusterAssignFunction"):  # DuckDB + numpy
            (clusters,) = (k for k in layers if k.startswith("ClustersLayer"))
            assert props["Layers"] == [{"Ref": shared}, {"Ref": lake}, {"Ref": clusters}], name
            assert props["Timeout"] > 29, name
            continue
        if name in ("AnalyticsFunction", "ClustersFunction"):  # DuckDB over the lake
            assert props["Layers"] == [{"Ref": shared}, {"Ref": lake}], name
            assert props["Timeout"] <= 29, name
            continue
        if name == "SearchFunction":  # DuckDB for the tail, tantivy for the index
            assert props["Layers"] == [{"Ref": shared}, {"Ref": lake}, {"Ref": search}], name
            assert props["Timeout"] <= 29, name
            continue
        assert props["Layers"] == [{"Ref": shared}], name
        if name == "SummariesWorkerFunction":  # a stream worker: no gateway waits for it
            assert props["Timeout"] > 20, name  # its storage deadline (Globals) fits
            continue
        # API Gateway gives up after 29 s: a function must answer before that.
        assert props["Timeout"] <= 29, name


# --- the insights pipeline ---------------------------------------------------------------------


def test_insights_worker_mapping_is_filtered_bounded_and_never_blocks_the_shard() -> None:
    mappings = of_type("AWS::Lambda::EventSourceMapping")
    (mapping,) = (
        m["Properties"]
        for m in mappings.values()
        if m["Properties"]["FunctionName"] == {"Ref": "InsightsWorkerFunction"}
    )
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["ConversationsTable", "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["InsightsFailureQueue", "Arn"]
    }
    patterns = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    for pattern in patterns:
        image = pattern["dynamodb"]["NewImage"]
        assert image["sk"] == {"S": ["META"]}
        assert image["status"] == {"S": ["completed"]}
        assert image["analyzable"] == {"BOOL": [True]}
    assert [p["eventName"] for p in patterns] == [["INSERT"], ["MODIFY"]]


def test_insights_worker_may_only_read_and_update_conversations() -> None:
    role = translated()["Resources"]["InsightsWorkerFunctionRole"]["Properties"]
    statements = [
        s
        for policy in role["Policies"]
        if "PolicyDocument" in policy
        for s in policy["PolicyDocument"]["Statement"]
    ]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    stream_read = {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    assert actions == {"dynamodb:Query", "dynamodb:UpdateItem", "sqs:SendMessage"} | stream_read
    # Bedrock only when the parameter asks for it.
    (conditional,) = (p["Fn::If"] for p in role["Policies"] if "Fn::If" in p)
    assert conditional[0] == "UseBedrock"
    (bedrock,) = conditional[1]["PolicyDocument"]["Statement"]
    assert bedrock["Action"] == "bedrock:InvokeModel"
    assert conditional[2] == {"Ref": "AWS::NoValue"}
    assert translated()["Conditions"]["UseBedrock"] == {
        "Fn::Equals": [{"Ref": "InsightsAnalyzer"}, "bedrock"]
    }


def test_alarms_on_the_failure_queue_and_the_iterator_age() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    depth = alarms["InsightsFailureQueueAlarm"]["Properties"]
    assert depth["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert depth["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["InsightsFailureQueue", "QueueName"]}}
    ]
    assert depth["Threshold"] == 0
    age = alarms["InsightsIteratorAgeAlarm"]["Properties"]
    assert age["MetricName"] == "IteratorAge"
    assert age["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "InsightsWorkerFunction"}}
    ]


def test_records_index_projects_keys_and_env_unless_told_all() -> None:
    """KEYS by default (a 1 KB record's index write is 1 unit, not 2); ALL stays available for
    stacks created with it, since changing an LSI replaces the table."""
    from devtools.template import create_table_requests

    template = load_template()
    parameter = template["Parameters"]["RecordsIndexProjection"]
    assert parameter["Default"] == "KEYS"
    assert set(parameter["AllowedValues"]) == {"KEYS", "ALL"}

    def projection(value: str) -> Any:
        changed = json.loads(json.dumps(template))
        changed["Parameters"]["RecordsIndexProjection"]["Default"] = value
        (records,) = [
            r for r in create_table_requests(changed, "t") if r["TableName"] == "t-RecordsTable"
        ]
        (index,) = records["LocalSecondaryIndexes"]
        return index["Projection"]

    assert projection("KEYS") == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["env"]}
    assert projection("ALL") == {"ProjectionType": "ALL"}
