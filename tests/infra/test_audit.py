"""The audit trail and the smaller hardening points of the deployed stack: access logs on both
APIs (JSON, who/what/outcome, never the body or the key), a retention on every log group, the
authorizer's cache and concurrency, stage limits above the largest usage plan, the archive
bucket's versioning, an https console origin."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.template import load_template
from tests.infra.test_template import APIS, of_type, translated


def stage(api: str) -> dict[str, Any]:
    (props,) = (
        s["Properties"]
        for s in of_type("AWS::ApiGateway::Stage").values()
        if s["Properties"]["RestApiId"] == {"Ref": api}
    )
    return props


@pytest.mark.parametrize("api", APIS)
def test_every_api_writes_json_access_logs_to_its_own_group(api: str) -> None:
    setting = stage(api)["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": [f"{api}AccessLogs", "Arn"]}
    line = json.loads(setting["Format"])  # one JSON object per request
    assert line["requestId"] == "$context.requestId"
    # The key the authorizer's context names (shared/authorizer.py allow_policy).
    assert line["tenantId"] == "$context.authorizer.tenantId"
    assert line["status"] == "$context.status"
    assert line["latencyMs"] == "$context.responseLatency"
    for field in ("method", "path", "ip", "userAgent"):
        assert field in line
    # Never the body or the key (the Authorization header).
    assert not any("body" in v.lower() or "header" in v.lower() for v in line.values())


def test_api_gateway_may_write_its_logs() -> None:
    account = of_type("AWS::ApiGateway::Account")["ApiGatewayAccount"]["Properties"]
    assert account["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
    for api in APIS:
        # The stage (after the deployment, after the API) is created once the role is set.
        assert translated()["Resources"][api]["DependsOn"] in (
            "ApiGatewayAccount",
            ["ApiGatewayAccount"],
        )


def test_every_function_logs_to_a_group_with_retention() -> None:
    groups = of_type("AWS::Logs::LogGroup")
    for name, function in of_type("AWS::Lambda::Function").items():
        group = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        assert group is not None, f"{name} has no LoggingConfig.LogGroup (kept forever)"
        assert group["Ref"] in groups, name


def test_every_log_group_has_the_retention_parameter() -> None:
    groups = of_type("AWS::Logs::LogGroup")
    assert groups
    for name, group in groups.items():
        assert group["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"}, name
    assert load_template()["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_authorizer_cache_is_at_most_five_minutes_and_its_concurrency_is_reserved() -> None:
    parameters = load_template()["Parameters"]
    assert parameters["AuthorizerCacheSeconds"]["MaxValue"] == 300
    authorizer = of_type("AWS::Lambda::Function")["AuthorizerFunction"]["Properties"]
    assert authorizer["ReservedConcurrentExecutions"] == {"Ref": "AuthorizerReservedConcurrency"}


@pytest.mark.parametrize("api", APIS)
def test_stage_limits_are_above_the_largest_usage_plan(api: str) -> None:
    parameters = load_template()["Parameters"]
    (settings,) = stage(api)["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "StageRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "StageBurstLimit"}
    assert parameters["StageRateLimit"]["Default"] > parameters["EnterpriseRateLimit"]["Default"]
    assert parameters["StageBurstLimit"]["Default"] > parameters["EnterpriseBurstLimit"]["Default"]


def test_archive_is_versioned_and_old_versions_expire() -> None:
    bucket = of_type("AWS::S3::Bucket")["ArchiveBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in rule for rule in rules)


def test_no_function_may_delete_an_object_version() -> None:
    """Versioning keeps what an ingest function's DeleteObject hides; none may destroy it."""
    text = json.dumps(of_type("AWS::IAM::Role"))
    assert "s3:DeleteObjectVersion" not in text
    assert '"s3:*"' not in text
