"""template.yaml: per-tenant throttling. Both APIs take the API Gateway key from the authorizer
(usageIdentifierKey) and require one on every method but CORS preflights; one usage plan per
tier covers both APIs' stages, its limits template parameters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.test_template import PUBLIC_ROUTES, of_type, rest_api, translated

APIS = ["IngestApi", "ConversationsApi"]
TIERS = ["Free", "Pro", "Enterprise"]


@pytest.mark.parametrize("api", APIS)
def test_api_keys_come_from_the_authorizer(api: str) -> None:
    assert translated()["Resources"][api]["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


@pytest.mark.parametrize("api", APIS)
def test_every_method_requires_an_api_key(api: str) -> None:
    """Every method but CORS preflight and the console's public page."""
    paths: dict[str, Any] = rest_api(api)["paths"]
    methods = [
        (path, method, spec)
        for path, item in paths.items()
        for method, spec in item.items()
        if method != "options" and (method, path) not in PUBLIC_ROUTES
    ]
    assert methods
    for path, method, spec in methods:
        assert {"api_key": []} in spec["security"], (path, method)


@pytest.mark.parametrize("tier", TIERS)
def test_one_usage_plan_per_tier_on_both_apis_limits_from_parameters(tier: str) -> None:
    plan = of_type("AWS::ApiGateway::UsagePlan")[f"{tier}UsagePlan"]["Properties"]
    assert plan["UsagePlanName"] == {"Fn::Sub": f"parley-${{Stage}}-{tier.lower()}"}
    assert [stage["ApiId"] for stage in plan["ApiStages"]] == [{"Ref": api} for api in APIS]
    assert plan["Throttle"] == {
        "RateLimit": {"Ref": f"{tier}RateLimit"},
        "BurstLimit": {"Ref": f"{tier}BurstLimit"},
    }
    assert plan["Quota"] == {"Limit": {"Ref": f"{tier}QuotaPerDay"}, "Period": "DAY"}
    parameters = translated()["Parameters"]
    for name in (f"{tier}RateLimit", f"{tier}BurstLimit", f"{tier}QuotaPerDay"):
        assert parameters[name]["Type"] == "Number"


def test_tiers_grow() -> None:
    parameters = translated()["Parameters"]
    for limit in ("RateLimit", "BurstLimit", "QuotaPerDay"):
        defaults = [parameters[f"{tier}{limit}"]["Default"] for tier in TIERS]
        assert defaults == sorted(defaults), limit
