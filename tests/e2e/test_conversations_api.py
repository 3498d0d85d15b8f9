"""The conversations API through `make dev` over HTTP: the documented examples (events/)
with their shapes, the live flow, and the gateway's own answers in this API's envelope."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess
from tests.seeds import body as seed_body

pytestmark = pytest.mark.e2e

BASE = "/api/v1/conversations"


def call(
    server: ServerProcess, method: str, path: str, body: Any = None, tenant: str = "acme"
) -> Reply:
    return request(method, server.base_url + path, key=server.keys[tenant], json_body=body)


def conversations_error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert set(reply.body) == {"error"}, reply.body
    assert reply.body["error"]["code"] == code
    error: dict[str, Any] = reply.body["error"]
    return error


def test_seed_004_create_example(server: ServerProcess) -> None:
    reply = call(server, "POST", BASE, seed_body("conversations_create"))

    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-request-id"] == reply.headers["x-amzn-requestid"]
    created = reply.body
    assert set(created) == {"id", "promptId", "status", "createdAt", "_links"}
    assert created["promptId"] == "prompt_123"
    assert created["status"] == "completed"
    assert created["_links"]["appendMessages"]["href"] == f"{BASE}/{created['id']}/messages"

    got = call(server, "GET", f"{BASE}/{created['id']}")
    assert got.status == 200, got.body
    assert got.body["content"] == seed_body("conversations_create")["content"]
    assert got.body["llmModel"] == "gpt-4o"
    # A completed conversation is analyzed by the insights worker within about a second: the
    # read may come before (null) or after it.
    insights = got.body["insights"]
    assert insights is None or insights["sentiment"] in {"positive", "neutral", "negative", "mixed"}


def test_seed_004_json_content_and_idempotency_examples(server: ServerProcess) -> None:
    structured = call(server, "POST", BASE, seed_body("conversations_create_structured"))
    assert structured.status == 200, structured.body
    messages = call(server, "GET", f"{BASE}/{structured.body['id']}").body["messages"]
    assert (
        messages == json.loads(seed_body("conversations_create_structured")["content"])["messages"]
    )

    body = seed_body("conversations_create_idempotent")
    first = call(server, "POST", BASE, body, tenant="globex")
    again = call(server, "POST", BASE, body, tenant="globex")
    assert first.status == again.status == 200
    assert again.body == first.body
    changed = call(server, "POST", BASE, {**body, "llmModel": "x"}, tenant="globex")
    conversations_error(changed, 409, "CONFLICT")


def test_live_flow_active_append_completed(server: ServerProcess) -> None:
    opened = call(server, "POST", BASE, seed_body("conversations_create_live"))
    assert opened.status == 200, opened.body
    assert opened.body["status"] == "active"
    path = opened.body["_links"]["appendMessages"]["href"]

    first = call(server, "POST", path, seed_body("conversations_append"))
    assert first.status == 200, first.body
    assert first.body["status"] == "active"
    assert len(first.body["messages"]) == 2

    last = call(
        server,
        "POST",
        path,
        {"messages": [{"role": "user", "content": "It's 12345"}], "status": "completed"},
    )
    assert last.status == 200, last.body
    body = last.body
    assert body["status"] == "completed"
    assert [m["content"] for m in body["messages"]] == [
        "Can you check my order status?",
        "Sure — what's your order number?",
        "It's 12345",
    ]
    assert body["content"] == (
        "User: Can you check my order status?\n"
        "Assistant: Sure — what's your order number?\n"
        "User: It's 12345"
    )
    assert body["metadata"] == {"sessionId": "sess_abc"}
    for key in ("id", "userId", "title", "content", "messages", "status", "createdAt", "updatedAt"):
        assert key in body

    conversations_error(
        call(server, "POST", path, seed_body("conversations_append")), 409, "CONFLICT"
    )
    listed = call(server, "GET", f"{BASE}?status=completed&limit=100")
    assert opened.body["id"] in [c["id"] for c in listed.body["data"]]
    # Completed and linked: its insights follow within moments (tests/e2e/test_insights_live.py).
    insights = call(server, "GET", f"{BASE}/{opened.body['id']}/insights")
    if insights.status != 200:
        assert "pending" in conversations_error(insights, 404, "NOT_FOUND")["message"]


def test_seed_004_validation_error_example(server: ServerProcess) -> None:
    reply = call(server, "POST", BASE, {"content": "User: Hello\nAssistant: Hi!"})
    assert reply.body == {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": "Invalid request body",
            "details": {"promptId": "Required field"},
        }
    }
    assert reply.status == 400


def test_another_tenants_conversation_is_404(server: ServerProcess) -> None:
    created = call(server, "POST", BASE, seed_body("conversations_create"), tenant="acme")
    reply = call(server, "GET", f"{BASE}/{created.body['id']}", tenant="globex")
    assert conversations_error(reply, 404, "NOT_FOUND")["message"] == "Conversation not found"


def test_gateway_answers_in_the_conversations_envelope(server: ServerProcess) -> None:
    no_key = request("GET", server.base_url + BASE)
    assert conversations_error(no_key, 401, "UNAUTHORIZED")["message"] == (
        "Invalid or missing API key"
    )
    bad_key = request("GET", server.base_url + BASE, key="prl_" + "x" * 43)
    conversations_error(bad_key, 401, "UNAUTHORIZED")
    unknown = call(server, "GET", "/api/v1/unknown")
    conversations_error(unknown, 404, "NOT_FOUND")
    wrong_method = call(server, "DELETE", BASE)
    conversations_error(wrong_method, 404, "NOT_FOUND")


def test_one_key_works_on_both_apis(server: ServerProcess) -> None:
    ingest = request(
        "POST",
        server.base_url + "/v1/ingest",
        key=server.keys["acme"],
        json_body={"events": [{"conversation_id": "c", "role": "user", "message": "hi"}]},
    )
    assert ingest.status == 200, ingest.body
    assert call(server, "GET", BASE).status == 200


def test_concurrent_appends_through_make_dev(server: ServerProcess) -> None:
    """8 clients appending to one live conversation at once: every message once, each call's
    messages together (the server's threads and its embedded DynamoDB included)."""
    path = call(server, "POST", BASE, seed_body("conversations_create_live")).body["_links"][
        "appendMessages"
    ]["href"]
    statuses: list[int] = []

    def appender(n: int) -> None:
        for c in range(2):
            body = {"messages": [{"role": "user", "content": f"t{n}-c{c}-m{k}"} for k in range(3)]}
            statuses.append(call(server, "POST", path, body).status)

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 16
    stored = [m["content"] for m in call(server, "GET", path.rsplit("/", 1)[0]).body["messages"]]
    assert sorted(stored) == sorted(
        f"t{n}-c{c}-m{k}" for n in range(8) for c in range(2) for k in range(3)
    )
    for start in range(0, len(stored), 3):
        prefix = stored[start].rsplit("-", 1)[0]
        assert stored[start : start + 3] == [f"{prefix}-m{k}" for k in range(3)]
