"""The security pieces of template.yaml (docs/security.md): the optional WAF web ACL with its
per-IP rate rule on both API stages, the usage table the quotas count in and who may write it,
the quotas' settings, and the cursor secret read from Secrets Manager (never an environment
value)."""

from __future__ import annotations

from typing import Any

from devtools.template import TEMPLATE_PATH, load_template
from shared.settings import Settings
from tests.infra.iam import inline_statements
from tests.infra.test_roles import CURSOR_SIGNERS, QUOTA_CHARGED
from tests.infra.test_template import of_type, translated

APIS = ("IngestApi", "ConversationsApi")


def resource(name: str) -> dict[str, Any]:
    found: dict[str, Any] = translated()["Resources"][name]
    return found


def test_waf_is_a_parameter_off_by_default() -> None:
    template = load_template()
    assert template["Parameters"]["WafEnabled"]["Default"] == "false"
    assert template["Conditions"]["UseWaf"] == {"Fn::Equals": [{"Ref": "WafEnabled"}, "true"]}
    waf = {
        name
        for name, res in translated()["Resources"].items()
        if res["Type"].startswith("AWS::WAFv2::")
    }
    assert waf == {"ApiWebAcl", *(f"{api}WebAclAssociation" for api in APIS)}
    for name in waf:
        assert resource(name)["Condition"] == "UseWaf"


def test_waf_rate_rule_counts_per_source_ip_and_answers_429() -> None:
    acl = resource("ApiWebAcl")["Properties"]
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["Limit"] == {"Ref": "WafRequestsPerIp"}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert load_template()["Parameters"]["WafRequestsPerIp"]["MinValue"] >= 10  # WAF's minimum


def test_waf_guards_both_api_stages() -> None:
    stages = {
        res["Properties"]["RestApiId"]["Ref"]: name
        for name, res in of_type("AWS::ApiGateway::Stage").items()
    }
    for api in APIS:
        association = resource(f"{api}WebAclAssociation")["Properties"]
        assert association["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
        arn = association["ResourceArn"]["Fn::Sub"]
        assert f"/restapis/${{{api}}}/stages/${{{stages[api]}}}" in arn, arn


def test_usage_table_expires_its_items_and_is_recoverable() -> None:
    table = resource("UsageTable")["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def usage_statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in inline_statements(role)
        if s.get("Resource") == {"Fn::GetAtt": ["UsageTable", "Arn"]}
    ]


def test_only_the_writers_update_the_usage_table_and_only_with_update_item() -> None:
    roles = {name.removesuffix("Role"): res for name, res in of_type("AWS::IAM::Role").items()}
    charged = {name for name, role in roles.items() if usage_statements(role)}
    assert charged == set(QUOTA_CHARGED)
    for name in QUOTA_CHARGED:
        (statement,) = usage_statements(roles[name])
        assert statement["Action"] in ("dynamodb:UpdateItem", ["dynamodb:UpdateItem"])


def test_quota_settings_reach_every_function() -> None:
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["USAGE_TABLE"] == {"Ref": "UsageTable"}
    assert variables["PARLEY_TENANT_QUOTAS"] == {"Ref": "TenantQuotas"}
    # The plan quotas, with the template's defaults substituted, are what Settings reads.
    parameters = load_template()["Parameters"]
    text = variables["PARLEY_PLAN_QUOTAS"]["Fn::Sub"]
    for name, spec in parameters.items():
        text = text.replace("${" + name + "}", str(spec.get("Default")))
    quotas = Settings.model_validate({"plan_quotas": text}).plan_quotas
    assert set(quotas) == {"free", "pro", "enterprise"}
    assert quotas["free"].events_per_day < quotas["pro"].events_per_day
    assert quotas["pro"].bytes_per_day < quotas["enterprise"].bytes_per_day


def test_the_cursor_secret_is_never_resolved_into_the_environment() -> None:
    assert "resolve:secretsmanager" not in TEMPLATE_PATH.read_text()
    functions = of_type("AWS::Lambda::Function")
    readers = {
        name
        for name, fn in functions.items()
        if "PARLEY_CURSOR_SECRET_ARN"
        in fn["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert readers == set(CURSOR_SIGNERS)
    for name in readers:
        variables = functions[name]["Properties"]["Environment"]["Variables"]
        assert variables["PARLEY_CURSOR_SECRET_ARN"] == {"Ref": "CursorSecret"}
        assert "PARLEY_CURSOR_SECRET" not in variables
