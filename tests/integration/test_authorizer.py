"""The REQUEST authorizer with keys in (moto) DynamoDB: 401 for anything but an active key."""

from __future__ import annotations

from typing import Any

import pytest

from functions.authorizer.app import handler
from shared import services
from shared.auth import hash_key
from shared.dynamo import Deadline
from shared.errors import BadRequest
from shared.settings import get_settings

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/ingest"


def authorize(headers: dict[str, str] | None) -> dict[str, Any]:
    event = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/v1/ingest",
        "path": "/v1/ingest",
        "httpMethod": "POST",
        "headers": headers,
    }
    result: dict[str, Any] = handler(event, None)
    return result


def test_active_key_allows_the_whole_stage(api_keys: dict[str, str]) -> None:
    policy = authorize({"Authorization": f"Bearer {api_keys['acme']}"})
    assert policy["principalId"] == "acme"
    assert policy["context"]["tenantId"] == "acme"
    assert policy["context"]["keyId"].startswith("key_")
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    # cached per key across routes, so it must cover every route of the stage
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
    assert all(isinstance(v, str) for v in policy["context"].values())


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_scheme_and_header_name_are_case_insensitive(api_keys: dict[str, str], scheme: str) -> None:
    assert authorize({"authorization": f"{scheme} {api_keys['globex']}"})["principalId"] == "globex"


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer prl_unknownunknownunknownunknownunknown12"},
        {"Authorization": "Bearer not-a-parley-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-Api-Key": "prl_unknownunknownunknownunknownunknown12"},
    ],
)
def test_anything_else_is_unauthorized(api_keys: dict[str, str], headers: Any) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(headers)


def test_basic_scheme_with_a_valid_key_is_unauthorized(api_keys: dict[str, str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"Authorization": f"Basic {api_keys['acme']}"})


def test_revoked_key_is_unauthorized(dynamodb: Any) -> None:
    store = services.key_store()
    key, info = store.create("initech", Deadline(5))
    assert authorize({"Authorization": f"Bearer {key}"})["principalId"] == "initech"
    revoked = store.revoke(info.key_id, Deadline(5))
    assert revoked is not None
    assert revoked.revoked_at is not None
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"Authorization": f"Bearer {key}"})


def test_keys_are_stored_only_as_hashes(dynamodb: Any, api_keys: dict[str, str]) -> None:

    table = get_settings().api_keys_table
    items = dynamodb.scan(TableName=table)["Items"]
    dumped = repr(items)
    for key in api_keys.values():
        assert key not in dumped
        assert hash_key(key) in dumped


def test_key_format(dynamodb: Any) -> None:
    key, info = services.key_store().create("hooli", Deadline(5))
    assert key.startswith("prl_")
    assert len(key) >= 36
    assert info.prefix == key[:12]
    listed = services.key_store().list_keys(Deadline(5), tenant_id="hooli")
    assert [k.key_id for k in listed] == [info.key_id]


def test_revoke_by_the_key_itself_and_unknown_ids(dynamodb: Any) -> None:
    store = services.key_store()
    key, _ = store.create("piedpiper", Deadline(5))
    assert store.revoke(key, Deadline(5)) is not None
    assert store.revoke("key_doesnotexist", Deadline(5)) is None
    assert store.revoke("prl_" + "z" * 40, Deadline(5)) is None


@pytest.mark.parametrize("tenant", ["", "a#b", "x" * 65, "-leading-dash", "spa ce"])
def test_tenant_ids_are_constrained(dynamodb: Any, tenant: str) -> None:

    with pytest.raises(BadRequest):
        services.key_store().create(tenant, Deadline(5))


def test_keys_are_checked_by_hash_lookup_and_constant_time_compare(
    monkeypatch: pytest.MonkeyPatch, api_keys: dict[str, str]
) -> None:
    """The key itself is never compared: its SHA-256 is the lookup key, and the stored hash is
    compared with hmac.compare_digest (no early exit on the first differing byte)."""
    import hmac

    from shared import auth

    compared: list[tuple[Any, Any]] = []
    original = hmac.compare_digest

    def compare_digest(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", compare_digest)
    key = api_keys["acme"]
    assert authorize({"Authorization": f"Bearer {key}"})["principalId"] == "acme"
    assert compared == [(hash_key(key), hash_key(key))]


def test_the_keys_plan_reaches_the_functions_for_its_quota(dynamodb: Any) -> None:
    key, _ = services.key_store().create("planned", Deadline(5), plan="pro")
    context = authorize({"Authorization": f"Bearer {key}"})["context"]
    assert context["plan"] == "pro"  # shared/quotas.py picks the plan's daily quota
    unplanned, _ = services.key_store().create("unplanned", Deadline(5))
    assert "plan" not in authorize({"Authorization": f"Bearer {unplanned}"})["context"]
