"""The whole path through the real handlers: register over the API, append to a conversation,
fan the stream record out, deliver from the queue, verify at the receiver."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook as Verifier

from devtools.queues import sqs_event
from functions.webhook_delivery.app import handler as delivery_handler
from shared import services
from tests.integration.conversations import append, created_id, fresh_tenant
from tests.integration.test_webhook_fanout import fan_out, meta, record
from tests.integration.test_webhooks_api import create
from tests.support import LambdaContext
from tests.webhook_support import Receiver


@pytest.fixture
def local_mode(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PARLEY_LOCAL_MODE", "1")
    services.reset()
    yield
    monkeypatch.undo()
    services.reset()


def deliver_queued(tenant: str) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = os.environ["WEBHOOK_QUEUE_URL"]
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages", []):
        mine = [m for m in messages if json.loads(m["Body"]).get("tenant") == tenant]
        event = sqs_event(mine, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
        assert delivery_handler(event, LambdaContext()) == {"batchItemFailures": []}
        for message in messages:  # what Lambda does with settled messages
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_an_append_reaches_the_receiver_signed(
    local_mode: None, dynamodb: Any, receiver: Receiver
) -> None:
    tenant = fresh_tenant()
    registered = create({"url": receiver.url, "events": ["conversation.updated"]}, tenant)
    assert registered.status == 201, registered.body
    conversation_id = created_id({"promptId": "prompt_123", "status": "active"}, tenant)
    before = meta(dynamodb, tenant, conversation_id)
    turn = {"role": "user", "content": "Where is my order?"}
    assert append(conversation_id, {"messages": [turn]}, tenant).status == 200
    after = meta(dynamodb, tenant, conversation_id)

    assert fan_out(record("INSERT", new=before), record("MODIFY", new=after, old=before)) == {
        "batchItemFailures": []
    }
    deliver_queued(tenant)

    (request,) = receiver.wait_for(1)  # subscribed to updates only: no conversation.created
    event = Verifier(registered.body["secret"]).verify(request.body, request.headers)
    assert event["type"] == "conversation.updated"
    assert event["data"]["conversationId"] == conversation_id
    assert event["data"]["changedFields"] == ["content", "messages", "updatedAt"]
    assert event["data"]["messageCount"] == 1
