"""Webhooks through `make dev` over HTTP: register a local receiver, send the test event, and
see it arrive signed through the local delivery queue and the real delivery handler."""

from __future__ import annotations

import time
from typing import Any

import pytest
from standardwebhooks import Webhook as Verifier

from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess
from tests.webhook_support import Receiver

pytestmark = pytest.mark.e2e

BASE = "/api/v1/webhooks"


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, tenant: str = "acme"
) -> Reply:
    return request(method, server.base_url + path, key=server.keys[tenant], json_body=body)


def test_test_event_arrives_signed_at_a_local_receiver(
    server: ServerProcess, receiver: Receiver
) -> None:
    created = call(server, "POST", BASE, {"url": receiver.url, "events": ["insights.ready"]})
    assert created.status == 201, created.body
    webhook = created.body
    listed = call(server, "GET", BASE)
    assert webhook["id"] in [w["id"] for w in listed.body["data"]]

    sent = time.monotonic()
    queued = call(server, "POST", f"{BASE}/{webhook['id']}/test")
    assert queued.status == 202, queued.body

    (arrived,) = receiver.wait_for(1, timeout=15)
    latency_ms = (arrived.at - sent) * 1000
    print(f"\n/test request to signed delivery through make dev: {latency_ms:.0f} ms")
    payload = Verifier(webhook["secret"]).verify(arrived.body, arrived.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["webhookId"] == webhook["id"]
    assert arrived.headers["webhook-id"] == queued.body["eventId"]


def test_other_tenants_cannot_see_test_or_delete_it(
    server: ServerProcess, receiver: Receiver
) -> None:
    webhook = call(server, "POST", BASE, {"url": receiver.url, "events": ["insights.ready"]}).body
    path = f"{BASE}/{webhook['id']}"

    assert webhook["id"] not in [
        w["id"] for w in call(server, "GET", BASE, tenant="globex").body["data"]
    ]
    for reply in (
        call(server, "POST", path + "/test", tenant="globex"),
        call(server, "DELETE", path, tenant="globex"),
    ):
        assert reply.status == 404, reply.body
        assert reply.body["error"]["code"] == "NOT_FOUND"

    assert call(server, "DELETE", path).status == 204
    assert call(server, "POST", path + "/test").status == 404
    time.sleep(1.5)  # the local queue poller runs every second
    assert receiver.received == []


def test_private_addresses_are_refused_on_make_dev_too(server: ServerProcess) -> None:
    reply = call(
        server, "POST", BASE, {"url": "http://10.0.0.1/hook", "events": ["insights.ready"]}
    )
    assert reply.status == 400, reply.body
    assert reply.body["error"]["code"] == "VALIDATION_ERROR"
    assert "url" in reply.body["error"]["details"]
