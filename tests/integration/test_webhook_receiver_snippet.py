"""The receiver snippet of docs/webhooks.md, run against a real delivery: it accepts what Parley
sent, refuses a tampered body, and sees a duplicate by its webhook-id."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from devtools.queues import sqs_event
from devtools.template import ROOT
from functions.webhook_delivery.app import handler as delivery_handler
from shared import services
from shared.dynamo import Deadline
from shared.webhooks.models import Event, Webhook, new_secret, new_webhook_id
from tests.support import LambdaContext
from tests.webhook_support import Receiver

MARKER = "<!-- webhook-verify-snippet -->"


def receiver_snippet() -> str:
    text = (ROOT / "docs" / "webhooks.md").read_text()
    match = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/webhooks.md has no python block after {MARKER}"
    return match.group(1)


@pytest.fixture
def local_mode(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PARLEY_LOCAL_MODE", "1")
    services.reset()
    yield
    monkeypatch.undo()
    services.reset()


def test_readme_snippet_verifies_a_real_delivery(local_mode: None, receiver: Receiver) -> None:
    tenant = f"rd-{uuid.uuid4().hex[:12]}"
    secret = new_secret()
    webhook = Webhook(
        new_webhook_id(datetime.now(UTC)),
        receiver.url,
        ["conversation.completed"],
        None,
        "2024-01-15T10:00:00.000Z",
        secret,
    )
    services.webhook_store().put(tenant, webhook, Deadline(5))
    data = {"conversationId": "conv_01JHBVX3V8T2Q6R9M4K7N5P0SA", "status": "completed"}
    event = Event(
        tenant, f"msg_{uuid.uuid4().hex}", "conversation.completed", "2024-01-15T10:32Z", data
    )
    services.webhook_queue().enqueue([event.for_webhook(webhook.id)], Deadline(5))
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = os.environ["WEBHOOK_QUEUE_URL"]
    messages = [
        m
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])[
            "Messages"
        ]
        if event.id in m["Body"]
    ]
    delivery_handler(sqs_event(messages, "arn:aws:sqs:us-east-1:1:q", "us-east-1"), LambdaContext())
    (delivered,) = receiver.wait_for(1)

    seen: set[str] = set()
    handled: list[tuple[str, Any]] = []

    def already_processed(webhook_id: str) -> bool:
        duplicate = webhook_id in seen
        seen.add(webhook_id)
        return duplicate

    namespace: dict[str, Any] = {
        "PARLEY_WEBHOOK_SECRET": secret,
        "already_processed": already_processed,
        "handle": lambda kind, payload: handled.append((kind, payload)),
    }
    exec(compile(receiver_snippet(), "docs/webhooks.md", "exec"), namespace)
    receive = namespace["receive"]

    assert receive(delivered.body, delivered.headers) == 200
    assert handled == [("conversation.completed", data)]
    assert receive(delivered.body, delivered.headers) == 200  # a duplicate: not handled again
    assert len(handled) == 1
    tampered = delivered.body.replace(b"completed", b"abandoned")
    assert receive(tampered, delivered.headers) == 400
    assert receive(delivered.body, {**delivered.headers, "webhook-signature": "v1,AAAA"}) == 400
