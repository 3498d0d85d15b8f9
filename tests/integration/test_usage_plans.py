"""Per-tenant throttling: `parley keys create --plan` binds the key to an API Gateway usage plan
on AWS (API Gateway stubbed with botocore's Stubber, the keys table under moto), records the
plan only elsewhere, and the authorizer hands the bound key to API Gateway."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from devtools import cli
from devtools.server import start_moto
from functions.authorizer.app import handler as authorizer
from shared import services
from shared.auth import KeyStore
from shared.dynamo import Deadline, make_client
from shared.settings import Settings, get_settings

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/ingest"


def authorize(key: str) -> dict[str, Any]:
    event = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "headers": {"Authorization": f"Bearer {key}"},
    }
    result: dict[str, Any] = authorizer(event, None)
    return result


def run_cli(*args: str, **env: str) -> tuple[int, str, str]:
    saved = dict(os.environ)
    os.environ.pop("PARLEY_DYNAMODB_ENDPOINT", None)
    os.environ["API_KEYS_TABLE"] = get_settings().api_keys_table
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def created_key(stdout: str) -> str:
    (key,) = [line.strip() for line in stdout.splitlines() if line.strip().startswith("prl_")]
    return key


@pytest.fixture
def apigateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("apigateway", region_name="us-east-1")
    monkeypatch.setattr(cli, "apigateway_client", lambda region: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


PLANS = {
    "items": [
        {"id": "plan-free", "name": "parley-prod-free"},
        {"id": "plan-pro", "name": "parley-prod-pro"},
        {"id": "plan-other", "name": "parley-staging-pro"},
    ]
}


@pytest.mark.usefixtures("dynamodb")
def test_on_aws_a_key_is_bound_to_its_usage_plan_and_the_authorizer_names_it(
    apigateway: Stubber,
) -> None:
    apigateway.add_response("get_usage_plans", PLANS, {})
    apigateway.add_response(
        "create_api_key",
        {"id": "apikey-1"},
        {"name": ANY, "description": ANY, "enabled": True, "value": ANY},
    )
    apigateway.add_response(
        "create_usage_plan_key",
        {"id": "apikey-1", "type": "API_KEY"},
        {"usagePlanId": "plan-pro", "keyId": "apikey-1", "keyType": "API_KEY"},
    )

    code, out, err = run_cli("keys", "create", "--tenant", "acme", "--plan", "pro")

    assert code == 0, err
    assert "bound to the usage plan parley-prod-pro" in out
    key = created_key(out)
    policy = authorize(key)
    assert policy["principalId"] == "acme"
    usage_key = policy["usageIdentifierKey"]
    assert len(usage_key) >= 20
    # the value given to API Gateway is the one stored with the key and handed back
    stored = services.key_store().tenant_for(f"Bearer {key}", Deadline(5))
    assert stored.plan == "pro"
    assert stored.usage_key == usage_key
    # listing shows the plan, never the usage key
    code, out, _ = run_cli("keys", "list", "--tenant", "acme", "--json")
    (listed,) = [k for k in json.loads(out) if k["key_id"] == stored.key_id]
    assert listed["plan"] == "pro"
    assert "usage_key" not in listed
    assert usage_key not in out


@pytest.mark.usefixtures("dynamodb")
def test_a_missing_usage_plan_creates_no_key(apigateway: Stubber) -> None:
    apigateway.add_response("get_usage_plans", PLANS, {})
    before = len(services.key_store().list_keys(Deadline(5)))

    code, _, err = run_cli("keys", "create", "--tenant", "acme", "--plan", "pro", "--stage", "dev")

    assert code == 2
    assert "No API Gateway usage plan 'parley-dev-pro'" in err
    assert len(services.key_store().list_keys(Deadline(5))) == before


@pytest.fixture(scope="module")
def moto_endpoint(dynamodb: Any) -> Iterator[str]:
    endpoint, server = start_moto()
    yield endpoint
    server.stop()


def test_on_a_local_endpoint_the_plan_is_recorded_only(moto_endpoint: str) -> None:
    code, out, err = run_cli(
        "keys", "create", "--tenant", "globex", "--plan", "enterprise",
        PARLEY_DYNAMODB_ENDPOINT=moto_endpoint,
    )  # fmt: skip

    assert code == 0, err
    assert "Plan enterprise: recorded only" in out
    local = KeyStore(
        make_client(Settings(dynamodb_endpoint=moto_endpoint)), get_settings().api_keys_table
    )
    info = local.tenant_for(f"Bearer {created_key(out)}", Deadline(5))
    assert (info.plan, info.usage_key) == ("enterprise", None)
    assert "usageIdentifierKey" not in authorize(created_key(out))


def test_a_key_without_a_plan_has_no_usage_identifier(api_keys: dict[str, str]) -> None:
    policy = authorize(api_keys["acme"])
    assert "usageIdentifierKey" not in policy
