"""Webhook secret rotation through `make dev` (docs/security.md "Webhook secrets"): after
`POST /api/v1/webhooks/{id}/rotate-secret` every delivery carries two signatures, so the
`standardwebhooks` package verifies it with the old secret and with the new one; once the
overlap window has passed (5 s on this server, 24 h by default), only with the new one."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.webhook_support import Received, Receiver

pytestmark = pytest.mark.e2e

BASE = "/api/v1/webhooks"
OVERLAP_SECONDS = 5


@pytest.fixture(scope="module")
def rotation_server() -> Iterator[ServerProcess]:
    running = start_server(
        {"acme": new_key(), "globex": new_key()},
        {"PARLEY_WEBHOOK_SECRET_OVERLAP_SECONDS": str(OVERLAP_SECONDS)},
    )
    yield running
    assert running.stop(signal.SIGINT) == 0, running.output
    served = running.output.partition("\nListening on ")[2]
    assert "whsec_" not in served, "a webhook secret was logged"


def call(server: ServerProcess, method: str, path: str, tenant: str = "acme") -> Reply:
    return request(method, server.base_url + path, key=server.keys[tenant])


def delivered_test_event(server: ServerProcess, receiver: Receiver, webhook_id: str) -> Received:
    before = len(receiver.received)
    assert call(server, "POST", f"{BASE}/{webhook_id}/test").status == 202
    return receiver.wait_for(before + 1, timeout=15)[-1]


def verifies(secret: str, arrived: Received) -> bool:
    try:
        payload: dict[str, Any] = Verifier(secret).verify(arrived.body, arrived.headers)
    except WebhookVerificationError:
        return False
    return payload["type"] == "webhook.test"


def test_both_secrets_verify_during_the_window_and_only_the_new_one_after(
    rotation_server: ServerProcess, receiver: Receiver
) -> None:
    created = request(
        "POST",
        rotation_server.base_url + BASE,
        key=rotation_server.keys["acme"],
        json_body={"url": receiver.url, "events": ["insights.ready"]},
    )
    assert created.status == 201, created.body
    webhook_id, old = created.body["id"], created.body["secret"]
    assert verifies(old, delivered_test_event(rotation_server, receiver, webhook_id))

    rotated = call(rotation_server, "POST", f"{BASE}/{webhook_id}/rotate-secret")
    assert rotated.status == 200, rotated.body
    new = rotated.body["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated.body["id"] == webhook_id
    expires = datetime.fromisoformat(rotated.body["previousSecretExpiresAt"])

    during = delivered_test_event(rotation_server, receiver, webhook_id)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifies(old, during)
    assert verifies(new, during)

    # Neither secret is ever listed.
    listed = call(rotation_server, "GET", BASE).body["data"]
    assert [w for w in listed if w["id"] == webhook_id]
    assert all("secret" not in w for w in listed)

    time.sleep(max(0.0, expires.timestamp() - time.time()) + 0.5)
    after = delivered_test_event(rotation_server, receiver, webhook_id)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verifies(new, after)
    assert not verifies(old, after)


def test_rotate_is_the_owners_alone(rotation_server: ServerProcess, receiver: Receiver) -> None:
    created = request(
        "POST",
        rotation_server.base_url + BASE,
        key=rotation_server.keys["acme"],
        json_body={"url": receiver.url, "events": ["insights.ready"]},
    )
    path = f"{BASE}/{created.body['id']}/rotate-secret"
    refused = call(rotation_server, "POST", path, tenant="globex")
    assert refused.status == 404, refused.body
    assert refused.body["error"]["code"] == "NOT_FOUND"
    unknown = call(rotation_server, "POST", f"{BASE}/wh_01JHBVX3V8T2Q6R9M4K7N5P0SA/rotate-secret")
    assert unknown.status == 404
    malformed = call(rotation_server, "POST", f"{BASE}/nope/rotate-secret")
    assert malformed.status == 400
    assert "id" in malformed.body["error"]["details"]
