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


def test_conversation_events_arrive_signed_for_every_append(
    server: ServerProcess, receiver: Receiver
) -> None:
    """The whole pipeline on make dev: a handler writes the conversation, the local stream
    runner feeds the fan-out, the local queue feeds delivery, and the receiver verifies each
    event with the Standard Webhooks library."""
    events = [
        "conversation.created",
        "conversation.updated",
        "conversation.completed",
        "insights.ready",
    ]
    webhook = call(server, "POST", BASE, {"url": receiver.url, "events": events}).body
    try:
        opened = call(
            server,
            "POST",
            "/api/v1/conversations",
            {"promptId": "prompt_hooks", "status": "active"},
        )
        assert opened.status == 200, opened.body
        conversation_id = opened.body["id"]
        path = f"/api/v1/conversations/{conversation_id}/messages"
        first = {"messages": [{"role": "user", "content": "Where is my order?"}]}
        assert call(server, "POST", path, first).status == 200
        last = {
            "messages": [{"role": "assistant", "content": "It shipped today. Anything else?"}],
            "status": "completed",
        }
        assert call(server, "POST", path, last).status == 200

        verifier = Verifier(webhook["secret"])
        deadline = time.monotonic() + 20
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = [verifier.verify(r.body, r.headers) for r in receiver.received]
            mine = [p for p in seen if p["data"].get("conversationId") == conversation_id]
            if sorted(p["type"] for p in mine) == sorted([*events, "conversation.updated"]):
                break
            time.sleep(0.2)
        mine = [p for p in seen if p["data"].get("conversationId") == conversation_id]
        types = sorted(p["type"] for p in mine)
        assert types == sorted([*events, "conversation.updated"]), types
        updates = [p for p in mine if p["type"] == "conversation.updated"]
        assert all("messages" in p["data"]["changedFields"] for p in updates), updates
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert len(ids) == len(set(ids))  # one delivery per event here: no retry was needed
    finally:
        assert call(server, "DELETE", f"{BASE}/{webhook['id']}").status == 204
