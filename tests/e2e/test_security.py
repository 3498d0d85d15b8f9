"""Two tenants through `make dev`: neither can read, write or page into the other's data on any
route (ids and cursors of the other tenant included); cursors reveal no tenant or partition
key; and no route answers CORS (the console is served same-origin)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e

BASE = "/api/v1/conversations"


def call(server: ServerProcess, tenant: str, method: str, path: str, body: Any = None) -> Reply:
    return request(method, server.base_url + path, key=server.keys[tenant], json_body=body)


@pytest.fixture(scope="module")
def acme_data(server: ServerProcess) -> dict[str, str]:
    """acme's records (3, in one conversation), a live conversation and a run."""
    conversation = f"sec-{uuid.uuid4().hex[:8]}"
    events = [
        {
            "messageType": "channel",
            "id": f"m{i}",
            "conversationId": conversation,
            "role": "user",
            "message": f"secret {i}",
        }
        for i in range(3)
    ]
    assert call(server, "acme", "POST", "/v1/ingest", {"events": events}).status == 200
    live = call(server, "acme", "POST", BASE, {"promptId": "sec", "status": "active"}).body["id"]
    run = call(server, "acme", "POST", "/api/v1/runs", {"content": "User: hi", "status": "active"})
    assert run.status == 200, run.body
    return {"conversation": conversation, "live": live, "run": run.body["data"]["id"]}


def test_the_other_tenant_sees_none_of_it(server: ServerProcess, acme_data: dict[str, str]) -> None:
    records = f"/v1/conversations/{acme_data['conversation']}/records"
    assert call(server, "globex", "GET", records).body == {"data": [], "nextCursor": None}
    live, run = acme_data["live"], acme_data["run"]
    message = {"messages": [{"role": "user", "content": "intrusion"}]}
    for method, path, body in [
        ("GET", f"{BASE}/{live}", None),
        ("POST", f"{BASE}/{live}/messages", message),
        ("GET", f"{BASE}/{live}/insights", None),
        ("POST", f"/api/v1/runs/{run}/messages", message),
        ("GET", f"/api/v1/runs/{run}/insights", None),
        ("GET", f"{BASE}/{run}", None),
    ]:
        reply = call(server, "globex", method, path, body)
        assert reply.status == 404, (method, path, reply.body)
    listed = call(server, "globex", "GET", f"{BASE}?limit=100").body["data"]
    assert not {live, run} & {c["id"] for c in listed}
    # and acme's data is untouched by the attempts
    assert call(server, "acme", "GET", f"{BASE}/{live}").body["messages"] == []


def test_the_same_ids_are_separate_records_per_tenant(
    server: ServerProcess, acme_data: dict[str, str]
) -> None:
    conversation = acme_data["conversation"]
    overwrite = {
        "messageType": "channel",
        "id": "m0",
        "conversationId": conversation,
        "role": "user",
        "message": "globex",
    }
    assert call(server, "globex", "POST", "/v1/ingest", {"events": [overwrite]}).status == 200
    mine = call(server, "acme", "GET", f"/v1/conversations/{conversation}/records").body["data"]
    assert [r["message"] for r in mine] == ["secret 0", "secret 1", "secret 2"]


def test_records_cursors_are_bound_to_their_listing_and_reveal_nothing(
    server: ServerProcess, acme_data: dict[str, str]
) -> None:
    conversation = acme_data["conversation"]
    path = f"/v1/conversations/{conversation}/records"
    page = call(server, "acme", "GET", f"{path}?limit=1").body
    cursor = page["nextCursor"]
    assert cursor
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert b"acme" not in decoded  # only the position: the last record's id and order key
    assert conversation.encode() not in decoded

    assert call(server, "acme", "GET", f"{path}?limit=1&cursor={cursor}").status == 200
    for tenant, other_path in [
        ("globex", path),  # the other tenant, same conversation id
        ("acme", f"/v1/conversations/{conversation}-other/records"),  # another conversation
        ("acme", f"{path}?environment=staging&"),  # another filter
    ]:
        joiner = "" if other_path.endswith("&") else "?"
        reply = call(server, tenant, "GET", f"{other_path}{joiner}limit=1&cursor={cursor}")
        assert reply.status == 400, (tenant, other_path, reply.body)
    edited = base64.urlsafe_b64encode(decoded.replace(b"rec_", b"rec-", 1)).decode().rstrip("=")
    assert call(server, "acme", "GET", f"{path}?limit=1&cursor={edited}").status == 400


def test_a_list_cursor_of_the_other_tenant_shows_only_your_own(
    server: ServerProcess, acme_data: dict[str, str]
) -> None:
    for _ in range(2):
        call(server, "acme", "POST", BASE, {"promptId": "sec", "content": "User: hi"})
    cursor = call(server, "acme", "GET", f"{BASE}?limit=1").body["pagination"]["nextCursor"]
    assert cursor
    theirs = call(server, "globex", "GET", f"{BASE}?limit=100&cursor={cursor}")
    assert theirs.status in (200, 400), theirs.body
    if theirs.status == 200:
        acme_ids = {c["id"] for c in call(server, "acme", "GET", f"{BASE}?limit=100").body["data"]}
        assert not acme_ids & {c["id"] for c in theirs.body["data"]}


@pytest.mark.parametrize("path", ["/v1/ingest", BASE, "/v1/traces"])
def test_cors_answers_only_the_console(server: ServerProcess, path: str) -> None:
    origin = {"Origin": "https://evil.example"}
    preflight = request(
        "OPTIONS",
        server.base_url + path,
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    plain = request(
        "POST", server.base_url + path, key=server.keys["acme"], json_body={}, headers=origin
    )
    assert not [h for h in plain.headers if h.startswith("access-control-")], plain.headers
    if path == BASE:
        # The conversations API answers every preflight as API Gateway's mock does: for the
        # web console's origin (the ingest API's) only, GET with a key only.
        assert preflight.status == 200
        assert preflight.headers["access-control-allow-origin"] == server.base_url
        assert preflight.headers["access-control-allow-methods"] == "GET"
        assert preflight.headers["access-control-allow-headers"] == "Authorization"
        assert "access-control-allow-credentials" not in preflight.headers
    else:
        assert preflight.status >= 400
        cors = [h for h in preflight.headers if h.startswith("access-control-")]
        assert not cors, preflight.headers
