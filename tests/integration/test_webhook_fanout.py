"""The fan-out function with real stream-record shapes: the images are the META items the real
conversations handlers stored, read back from the table."""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import boto3
import pytest

from functions.webhook_fanout.app import handler as fanout_handler
from shared import services
from shared.conversations.store import ConversationStore
from shared.dynamo import Deadline, default_client
from shared.webhooks.models import Webhook, new_secret
from tests.integration.conversations import append, created_id
from tests.support import LambdaContext
from tests.webhook_support import drain, queued

ALL_EVENTS = [
    "conversation.created",
    "conversation.updated",
    "conversation.completed",
    "insights.ready",
]
STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/test-ConversationsTable/stream/2024-01-15T10"
)


@pytest.fixture
def sqs(dynamodb: Any) -> Any:
    client = boto3.client("sqs", region_name="us-east-1")
    drain(client, os.environ["WEBHOOK_QUEUE_URL"])
    return client


def new_tenant() -> str:
    return f"fan-{uuid.uuid4().hex[:12]}"


def register(tenant: str, events: list[str], suffix: str = "") -> str:
    webhook = Webhook(
        id=f"wh_01JHBVX3V8T2Q6R9M4K7N5P{uuid.uuid4().int % 1000:03d}",
        url=f"https://hooks.example.com/{suffix}",
        events=events,
        description=None,
        created_at="2024-01-15T10:00:00.000Z",
        secret=new_secret(),
    )
    services.webhook_store().put(tenant, webhook, Deadline(5))
    return webhook.id


def meta(dynamodb: Any, tenant: str, conversation_id: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(
        TableName=os.environ["CONVERSATIONS_TABLE"],
        Key={"pk": {"S": f"{tenant}#{conversation_id}"}, "sk": {"S": "META"}},
    )["Item"]
    return item


_sequence = iter(range(1, 1_000_000))


def record(
    name: str, new: dict[str, Any] | None = None, old: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    image = new or old
    assert image is not None
    number = next(_sequence)
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": 1705314600.0 + number,
        "Keys": {"pk": image["pk"], "sk": image["sk"]},
        "SequenceNumber": f"{number:021d}",
        "SizeBytes": 600,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": stream,
        "eventSourceARN": STREAM_ARN,
    }


def fan_out(*records: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = fanout_handler({"Records": list(records)}, LambdaContext())
    return result


def by_type(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        grouped.setdefault(message["type"], []).append(message)
    return grouped


LIVE = {"promptId": "prompt_123", "status": "active", "agentId": "agent_support"}
DONE = {"promptId": "p1", "content": "User: hi\nAssistant: hello"}  # created completed
TURNS = [
    {"role": "user", "content": "My invoice was charged twice."},
    {"role": "assistant", "content": "I can see that; refunding the duplicate now."},
]


def test_insert_is_conversation_created_for_subscribed_endpoints_only(
    dynamodb: Any, sqs: Any
) -> None:
    tenant = new_tenant()
    created_hook = register(tenant, ["conversation.created"])
    register(tenant, ["insights.ready"])
    other_tenant = new_tenant()
    register(other_tenant, ALL_EVENTS)
    conversation_id = created_id(LIVE, tenant)

    assert fan_out(record("INSERT", new=meta(dynamodb, tenant, conversation_id))) == {
        "batchItemFailures": []
    }

    (message,) = queued(sqs, tenant, other_tenant)
    assert message["tenant"] == tenant
    assert message["webhookId"] == created_hook
    assert message["type"] == "conversation.created"
    assert message["eventId"].startswith("msg_")
    assert message["data"] == {
        "conversationId": conversation_id,
        "promptId": "prompt_123",
        "agentId": "agent_support",
        "status": "active",
        "messageCount": 0,
        "createdAt": message["data"]["createdAt"],
        "updatedAt": message["data"]["createdAt"],
    }
    assert message["timestamp"] == message["data"]["updatedAt"]


def test_created_completed_is_created_and_completed(dynamodb: Any, sqs: Any) -> None:
    tenant = new_tenant()
    register(tenant, ALL_EVENTS)
    conversation_id = created_id(
        {"promptId": "p1", "content": "User: hi\nAssistant: hello"}, tenant
    )

    fan_out(record("INSERT", new=meta(dynamodb, tenant, conversation_id)))

    events = by_type(queued(sqs, tenant))
    assert sorted(events) == ["conversation.completed", "conversation.created"]
    assert "previousStatus" not in events["conversation.completed"][0]["data"]


def test_every_append_is_conversation_updated_with_its_changed_fields(
    dynamodb: Any, sqs: Any
) -> None:
    tenant = new_tenant()
    hook = register(tenant, ["conversation.updated"])
    conversation_id = created_id(LIVE, tenant)
    before = meta(dynamodb, tenant, conversation_id)
    assert append(conversation_id, {"messages": TURNS}, tenant).status == 200
    middle = meta(dynamodb, tenant, conversation_id)
    answer = append(
        conversation_id,
        {"messages": [TURNS[0]], "metadata": {"channel": "web"}},
        tenant,
    )
    assert answer.status == 200
    after = meta(dynamodb, tenant, conversation_id)

    fan_out(record("MODIFY", new=middle, old=before), record("MODIFY", new=after, old=middle))

    first, second = queued(sqs, tenant)
    assert {first["type"], second["type"]} == {"conversation.updated"}
    assert first["webhookId"] == second["webhookId"] == hook
    assert first["data"]["changedFields"] == ["content", "messages", "updatedAt"]
    assert first["data"]["messagesAdded"] == 2
    assert first["data"]["messageCount"] == 2
    assert second["data"]["changedFields"] == ["content", "messages", "metadata", "updatedAt"]
    assert second["data"]["messagesAdded"] == 1
    assert first["eventId"] != second["eventId"]


def test_completing_append_is_updated_and_completed(dynamodb: Any, sqs: Any) -> None:
    tenant = new_tenant()
    register(tenant, ALL_EVENTS)
    conversation_id = created_id(LIVE, tenant)
    before = meta(dynamodb, tenant, conversation_id)
    append(conversation_id, {"messages": TURNS, "status": "completed"}, tenant)
    after = meta(dynamodb, tenant, conversation_id)

    fan_out(record("MODIFY", new=after, old=before))

    events = by_type(queued(sqs, tenant))
    assert sorted(events) == ["conversation.completed", "conversation.updated"]
    assert events["conversation.updated"][0]["data"]["changedFields"] == [
        "content",
        "messages",
        "status",
        "updatedAt",
    ]
    completed = events["conversation.completed"][0]["data"]
    assert completed["status"] == "completed"
    assert completed["previousStatus"] == "active"


def test_filled_insights_slot_is_insights_ready(dynamodb: Any, sqs: Any) -> None:
    tenant = new_tenant()
    register(tenant, ["insights.ready"])
    conversation_id = created_id(
        {"promptId": "p1", "content": "User: hi\nAssistant: hello"}, tenant
    )
    before = meta(dynamodb, tenant, conversation_id)
    insights = {
        "sentiment": "positive",
        "summary": "Greeting",
        "createdAt": "2024-01-15T10:32:44.000Z",
        "analyzer": "local",
    }
    after = {
        **before,
        "insights": {"S": json.dumps(insights)},
        "has_insights": {"BOOL": True},
    }

    fan_out(record("MODIFY", new=after, old=before))

    (message,) = queued(sqs, tenant)
    assert message["type"] == "insights.ready"
    assert message["timestamp"] == "2024-01-15T10:32:44.000Z"
    assert message["data"]["insights"] == insights
    assert message["data"]["conversationId"] == conversation_id


def test_remove_and_message_items_fan_out_nothing(dynamodb: Any, sqs: Any) -> None:
    tenant = new_tenant()
    register(tenant, ALL_EVENTS)
    conversation_id = created_id(
        {"promptId": "p1", "content": "User: hi\nAssistant: hello"}, tenant
    )
    item = meta(dynamodb, tenant, conversation_id)
    chunk = dynamodb.get_item(
        TableName=os.environ["CONVERSATIONS_TABLE"],
        Key={"pk": item["pk"], "sk": {"S": "MSG#0000"}},
    )["Item"]

    result = fan_out(record("REMOVE", old=item), record("INSERT", new=chunk))

    assert result == {"batchItemFailures": []}
    assert queued(sqs, tenant) == []


def test_a_redelivered_record_yields_the_same_event_ids(dynamodb: Any, sqs: Any) -> None:
    tenant = new_tenant()
    register(tenant, ALL_EVENTS, "a")
    register(tenant, ALL_EVENTS, "b")
    conversation_id = created_id(LIVE, tenant)
    before = meta(dynamodb, tenant, conversation_id)
    append(conversation_id, {"messages": TURNS, "status": "completed"}, tenant)
    after = meta(dynamodb, tenant, conversation_id)
    batch = [record("INSERT", new=before), record("MODIFY", new=after, old=before)]

    fan_out(*batch)
    first = queued(sqs, tenant)
    fan_out(*batch)  # Lambda retries a batch, or the stream is replayed
    second = queued(sqs, tenant)

    def ids(messages: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return sorted((m["webhookId"], m["type"], m["eventId"]) for m in messages)

    assert len(first) == 2 * 3  # two endpoints, each: created, updated, completed
    assert ids(first) == ids(second)
    # one event, one id, whichever endpoint it goes to
    assert len({m["eventId"] for m in first}) == 3


def test_a_failed_record_is_reported_and_later_ones_wait(
    dynamodb: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = new_tenant()
    register(tenant, ALL_EVENTS)
    first = meta(dynamodb, tenant, created_id(LIVE, tenant))
    second = meta(dynamodb, tenant, created_id(LIVE, tenant))
    third = meta(dynamodb, tenant, created_id(LIVE, tenant))
    queue = services.webhook_queue()
    real_enqueue = queue.enqueue
    calls = 0

    def flaky(deliveries: Any, deadline: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("SQS is down")
        real_enqueue(deliveries, deadline)

    monkeypatch.setattr(queue, "enqueue", flaky)
    records = [record("INSERT", new=item) for item in (first, second, third)]

    result = fan_out(*records)

    failed = records[1]["dynamodb"]["SequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": failed}]}
    (message,) = queued(sqs, tenant)  # only the first; Lambda retries from the second
    assert message["data"]["conversationId"] == first["gsk"]["S"]


def test_a_fenced_append_fans_out_nothing(dynamodb: Any, sqs: Any) -> None:
    """Settling an append whose answer was lost may fence it (META gains `fences`, nothing
    else changes): no webhook event, as nothing a subscriber sees changed."""
    tenant = new_tenant()
    register(tenant, ALL_EVENTS)
    conversation_id = created_id(LIVE, tenant)
    before = meta(dynamodb, tenant, conversation_id)
    store = ConversationStore(default_client(), os.environ["CONVERSATIONS_TABLE"])
    assert store.fence(tenant, conversation_id, 1, "token", Deadline(5))
    after = meta(dynamodb, tenant, conversation_id)
    assert after == {**before, "fences": {"SS": ["token"]}}

    assert fan_out(record("MODIFY", new=after, old=before)) == {"batchItemFailures": []}
    assert queued(sqs, tenant) == []
