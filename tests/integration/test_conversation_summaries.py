"""GET /v1/conversations: the per-conversation summaries the summaries worker keeps from the
records table's stream, listed newest first."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.ingest.app import handler as ingest_handler
from functions.ingest_conversations.app import handler as list_handler
from functions.ingest_multi.app import handler as multi_handler
from tests.integration.records_stream import records_stream
from tests.support import Answer, api_event, invoke


@pytest.fixture(autouse=True)
def stream(dynamodb: Any) -> None:
    records_stream()  # reading from before the test's records


def fresh_tenant() -> str:
    return f"sum-{uuid.uuid4().hex[:12]}"


def ingest(tenant: str, events: list[dict[str, Any]], environment: str = "production") -> None:
    body = {"environment": environment, "events": events}
    answer = invoke(ingest_handler, api_event("POST", "/v1/ingest", body=body, tenant=tenant))
    assert answer.status == 200, answer.body


def chat(conversation: str, text: str = "hi") -> dict[str, Any]:
    return {"conversation_id": conversation, "role": "user", "message": text}


def listing(tenant: str, **query: str) -> Answer:
    """The list once the worker has caught up with every record written so far."""
    records_stream().settle()
    event = api_event(
        "GET", "/v1/conversations", resource="/v1/conversations", tenant=tenant, query=query
    )
    return invoke(list_handler, event)


def ids(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [c["conversationId"] for c in answer.body["data"]]


def test_one_summary_per_conversation_newest_activity_first(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    ingest(tenant, [chat("a"), chat("a"), chat("b")])
    ingest(tenant, [chat("c")])
    ingest(tenant, [chat("a", "again")])
    answer = listing(tenant)
    assert ids(answer) == ["a", "c", "b"]
    first = answer.body["data"][0]
    assert first["recordCount"] == 3
    assert first["sources"] == ["chat"]
    assert first["environment"] == "production"
    assert first["firstActivityAt"] <= first["lastActivityAt"]
    assert answer.body["nextCursor"] is None


def test_sources_of_a_multi_batch_and_the_filters(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    body = {
        "environment": "staging",
        "events": [
            {
                "messageType": "channel",
                "id": "m1",
                "conversationId": "m",
                "role": "user",
                "message": "x",
            },
            {
                "messageType": "email",
                "id": "e1",
                "conversationId": "e",
                "from": "a@example.com",
                "to": ["b@example.com"],
                "subject": "s",
                "body": "hello",
                "inReplyTo": "e",  # an email joins the thread it replies to
            },
        ],
    }
    event = api_event("POST", "/v1/ingest/multi", body=body, tenant=tenant)
    answer = invoke(multi_handler, event)
    assert answer.status == 200, answer.body
    ingest(tenant, [chat("p")])
    assert sorted(ids(listing(tenant))) == ["e", "m", "p"]
    assert sorted(ids(listing(tenant, environment="staging"))) == ["e", "m"]
    assert ids(listing(tenant, source="email")) == ["e"]
    assert ids(listing(tenant, source="email", environment="production")) == []
    today = listing(tenant).body["data"][0]["lastActivityAt"][:10]
    assert len(ids(listing(tenant, since=today, until=today))) == 3
    assert ids(listing(tenant, until="2000-01-01")) == []


def test_cursor_pages_through_every_conversation_once(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    ingest(tenant, [chat(f"c{i:02d}") for i in range(23)])
    seen: list[str] = []
    cursor = ""
    while True:
        answer = listing(tenant, limit="10", cursor=cursor)
        seen += ids(answer)
        cursor = answer.body["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"c{i:02d}" for i in range(23)]


def test_tenants_never_see_each_other(dynamodb: Any) -> None:
    mine, theirs = fresh_tenant(), fresh_tenant()
    ingest(mine, [chat(f"x{i}") for i in range(3)])
    ingest(theirs, [chat("secret")])
    first = listing(mine, limit="1")
    assert ids(listing(theirs)) == ["secret"]
    # A cursor from one tenant's list is refused on another's.
    refused = listing(theirs, cursor=first.body["nextCursor"])
    assert refused.status == 400
    assert "cursor" in refused.body["message"]
    # And on the same tenant's list under other filters, or edited.
    assert listing(mine, cursor=first.body["nextCursor"], environment="staging").status == 400
    assert listing(mine, cursor=first.body["nextCursor"][:-3] + "AAA").status == 400
    assert listing(mine, cursor=first.body["nextCursor"]).status == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"environment": "moon"}, "environment"),
        ({"since": "yesterday"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_query_is_a_400_naming_it(dynamodb: Any, query: dict[str, str], field: str) -> None:
    answer = listing(fresh_tenant(), **query)
    assert answer.status == 400
    assert field in answer.body["message"]
