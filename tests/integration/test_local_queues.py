"""`make dev`'s local SQS: the template's queues and the poller that feeds the delivery handler,
deleting what it delivered and leaving failures to come back after their backoff delay."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from devtools.gateway import load_function
from devtools.queues import QueuePoller, queue_environment, queue_names, queue_triggers
from devtools.template import load_template
from shared import services
from shared.dynamo import Deadline
from shared.webhooks.models import Event, Webhook, new_secret, new_webhook_id
from tests.conftest import TABLE_PREFIX
from tests.webhook_support import Receiver, drain

TEMPLATE = load_template()


def test_the_template_declares_the_delivery_trigger() -> None:
    (trigger,) = queue_triggers(TEMPLATE)
    assert trigger.function.logical_id == "WebhookDeliveryFunction"
    assert trigger.queue == "WebhookDeliveryQueue"
    assert trigger.batch_size == 10
    assert trigger.reports_failures


def test_queue_variables_point_at_the_local_queues() -> None:
    names = queue_names(TEMPLATE, "local")
    urls = {logical: f"http://sqs.local/{name}" for logical, name in names.items()}
    assert queue_environment(TEMPLATE, urls) == {
        "WEBHOOK_QUEUE_URL": "http://sqs.local/local-WebhookDeliveryQueue",
        "WEBHOOK_DLQ_URL": "http://sqs.local/local-WebhookDeliveryDLQ",
    }


def test_session_queues_have_the_templates_redrive_policy(dynamodb: Any) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes = sqs.get_queue_attributes(
        QueueUrl=os.environ["WEBHOOK_QUEUE_URL"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "150"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 50
    assert redrive["deadLetterTargetArn"].endswith(f":{TABLE_PREFIX}-WebhookDeliveryDLQ")


@pytest.fixture
def quick_retries(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PARLEY_LOCAL_MODE", "1")
    monkeypatch.setenv("PARLEY_WEBHOOK_RETRY_BASE_SECONDS", "1")
    services.reset()
    yield
    monkeypatch.undo()
    services.reset()


def test_poller_retries_a_failed_delivery_after_its_delay(
    quick_retries: None, receiver: Receiver
) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = os.environ["WEBHOOK_QUEUE_URL"]
    drain(sqs, url)
    receiver.answers = [(500, 0.0)]  # the first attempt fails, the second succeeds
    tenant = f"lq-{uuid.uuid4().hex[:12]}"
    webhook = Webhook(
        new_webhook_id(datetime.now(UTC)),
        receiver.url,
        ["insights.ready"],
        None,
        "2024-01-15T10:00:00.000Z",
        new_secret(),
    )
    services.webhook_store().put(tenant, webhook, Deadline(5))
    event = Event(tenant, f"msg_{uuid.uuid4().hex}", "insights.ready", "2024-01-15T10:00Z", {})
    services.webhook_queue().enqueue([event.for_webhook(webhook.id)], Deadline(5))
    (trigger,) = queue_triggers(TEMPLATE)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    poller = QueuePoller(sqs, trigger, load_function(TEMPLATE, trigger.function), url, arn)

    assert poller.poll_once() == 1  # attempt 1: 500, hidden for its 1 s delay
    for _ in range(10):
        if poller.poll_once():
            break

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.id
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]  # re-signed
    assert poller.poll_once() == 0  # delivered, so deleted
