"""When the key table cannot answer in time, the real authorizer fails (not "Unauthorized"), and
the gateway — the template's GatewayResponses, emulated by devtools.gateway — answers a
retryable 503 with Retry-After in each API's envelope, never a bare 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devtools.gateway import Gateways, HttpRequest
from devtools.template import apis, load_template
from shared import authorizer, services
from shared.auth import KeyStore
from shared.errors import StorageUnavailable


class ThrottledKeys:
    exceptions = None

    def get_item(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "GetItem")


@pytest.fixture
def throttled_keys(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> None:
    store = KeyStore(ThrottledKeys(), "keys")  # type: ignore[arg-type]
    monkeypatch.setattr(services, "key_store", lambda: store)
    monkeypatch.setattr(authorizer, "_LOOKUP_SECONDS", 0.2)


@pytest.mark.usefixtures("throttled_keys")
def test_the_authorizer_fails_with_storage_unavailable() -> None:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:r:a:api/prod/GET/x",
        "headers": {"Authorization": "Bearer prl_" + "k" * 43},
    }
    with pytest.raises(StorageUnavailable):
        authorizer.authorize(event)


@pytest.mark.usefixtures("throttled_keys")
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/ingest"), ("GET", "/api/v1/conversations")]
)
def test_the_gateway_answers_a_retryable_503(method: str, path: str) -> None:
    gateway = Gateways(load_template(), apis(load_template()))
    request = HttpRequest(method, path, "", [("Authorization", "Bearer prl_" + "k" * 43)], b"")

    response = gateway.handle(request)

    assert response.status == 503
    assert response.header("Retry-After") == "2"
    body = json.loads(response.body)
    if path.startswith("/api/"):
        assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    else:
        assert body["retryable"] is True
        assert body["requestId"] == response.header("x-amzn-RequestId")
