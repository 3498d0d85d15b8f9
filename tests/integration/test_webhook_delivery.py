"""The delivery function against a local HTTP receiver on 127.0.0.1: Standard Webhooks
signatures, retries with growing delays, the DLQ after the retry window, SSRF at delivery.

Messages go through the real (moto) queue and reach the handler as the SQS event Lambda builds
from them; the tests then set the attributes Lambda passes on (receive count, sent time)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import urllib3
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from devtools.queues import sqs_event
from functions.webhook_delivery.app import handler as delivery_handler
from shared import services
from shared.dynamo import Deadline
from shared.webhooks.models import Delivery, Webhook, new_secret, new_webhook_id
from tests.support import LambdaContext
from tests.webhook_support import PUBLIC_IP, Receiver, drain

DAY = 24 * 3600


@pytest.fixture
def sqs(dynamodb: Any) -> Any:
    client = boto3.client("sqs", region_name="us-east-1")
    for var in ("WEBHOOK_QUEUE_URL", "WEBHOOK_DLQ_URL"):
        drain(client, os.environ[var])
    return client


def settings_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    services.reset()


@pytest.fixture
def local_mode(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings_env(monkeypatch, PARLEY_LOCAL_MODE="1", PARLEY_WEBHOOK_TIMEOUT_SECONDS="0.5")
    yield
    monkeypatch.undo()
    services.reset()


@pytest.fixture
def deployed_mode(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings_env(monkeypatch, PARLEY_WEBHOOK_TIMEOUT_SECONDS="0.5")
    yield
    monkeypatch.undo()
    services.reset()


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every backoff delay the delivery function asks SQS for (the calls still go to SQS)."""
    delays: list[int] = []
    queue = services.webhook_queue()
    real = queue.retry_later

    def recording(receipt: str, delay: int, deadline: Deadline) -> None:
        delays.append(delay)
        real(receipt, delay, deadline)

    monkeypatch.setattr(queue, "retry_later", recording)
    return delays


def register(url: str) -> tuple[str, Webhook]:
    tenant = f"dl-{uuid.uuid4().hex[:12]}"
    webhook = Webhook(
        id=new_webhook_id(datetime.now(UTC)),
        url=url,
        events=["conversation.updated"],
        description=None,
        created_at="2024-01-15T10:00:00.000Z",
        secret=new_secret(),
    )
    services.webhook_store().put(tenant, webhook, Deadline(5))
    return tenant, webhook


def delivery(tenant: str, webhook: Webhook, n: int = 0) -> Delivery:
    return Delivery(
        tenant=tenant,
        webhookId=webhook.id,
        eventId=f"msg_{uuid.uuid4().hex}",
        type="conversation.updated",
        timestamp="2024-01-15T10:31:12.000Z",
        data={"conversationId": "conv_01JHBVX3V8T2Q6R9M4K7N5P0SA", "n": n},
    )


def received_event(sqs: Any, *deliveries: Delivery, **attributes: str) -> dict[str, Any]:
    """Send the deliveries to the real queue, receive them, and build Lambda's SQS event."""
    url = os.environ["WEBHOOK_QUEUE_URL"]
    for item in deliveries:
        sqs.send_message(QueueUrl=url, MessageBody=item.model_dump_json())
    wanted = {item.eventId for item in deliveries}
    messages: list[dict[str, Any]] = []
    while len(messages) < len(deliveries):
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", []):
            if json.loads(message["Body"]).get("eventId") in wanted:
                messages.append(message)
            else:  # an earlier test's message whose retry delay ran out
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:test-queue", "us-east-1")
    for record in event["Records"]:
        record["attributes"].update(attributes)
    return event


def visible(sqs: Any, event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's messages that can be received right now."""
    ids = {json.loads(r["body"])["eventId"] for r in event["Records"]}
    found = drain(sqs, os.environ["WEBHOOK_QUEUE_URL"])
    return [m for m in found if json.loads(m["Body"]).get("eventId") in ids]


def deliver(event: dict[str, Any]) -> list[str]:
    result = delivery_handler(event, LambdaContext())
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def message_ids(event: dict[str, Any]) -> list[str]:
    return [r["messageId"] for r in event["Records"]]


# --- delivered ---------------------------------------------------------------------------------


def test_a_delivery_is_signed_per_standard_webhooks(
    local_mode: None, sqs: Any, receiver: Receiver
) -> None:
    tenant, webhook = register(receiver.url)
    item = delivery(tenant, webhook)

    assert deliver(received_event(sqs, item)) == []

    (request,) = receiver.wait_for(1)
    assert request.path == "/hooks/parley"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == item.eventId
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["webhook-signature"].startswith("v1,")
    payload = Verifier(webhook.secret).verify(request.body, request.headers)
    assert payload == {"type": item.type, "timestamp": item.timestamp, "data": item.data}
    with pytest.raises(WebhookVerificationError, match="signature"):
        Verifier(new_secret()).verify(request.body, request.headers)


def test_a_deleted_endpoint_drops_its_events(
    local_mode: None, sqs: Any, receiver: Receiver
) -> None:
    tenant, webhook = register(receiver.url)
    services.webhook_store().delete(tenant, webhook.id, Deadline(5))

    assert deliver(received_event(sqs, delivery(tenant, webhook))) == []
    assert receiver.received == []
    assert drain(sqs, os.environ["WEBHOOK_DLQ_URL"]) == []


# --- failures and retries ----------------------------------------------------------------------


def test_a_500_is_retried_later_with_one_request_per_attempt(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    receiver.default = (500, 0.0)
    tenant, webhook = register(receiver.url)
    event = received_event(sqs, delivery(tenant, webhook))

    assert deliver(event) == message_ids(event)

    assert len(receiver.wait_for(1)) == 1  # no retry inside the attempt
    (delay,) = retries
    assert 22 <= delay <= 38  # the first retry: 30 s ± 25%
    # the message is hidden for that delay: nothing to receive now
    assert visible(sqs, event) == []


def test_delays_grow_with_each_attempt_up_to_the_cap(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    receiver.default = (503, 0.0)
    tenant, webhook = register(receiver.url)
    item = delivery(tenant, webhook)

    for attempt in range(1, 13):
        event = received_event(sqs, item, ApproximateReceiveCount=str(attempt))
        assert deliver(event) == message_ids(event)
        sqs.change_message_visibility(  # make it receivable again for the next round
            QueueUrl=os.environ["WEBHOOK_QUEUE_URL"],
            ReceiptHandle=event["Records"][0]["receiptHandle"],
            VisibilityTimeout=0,
        )
        drain(sqs, os.environ["WEBHOOK_QUEUE_URL"])

    assert len(receiver.wait_for(12)) == 12
    growing = retries[:10]  # 30 s doubling to 4 h: the 10th is the first capped one
    assert all(a < b for a, b in itertools.pairwise(growing)), retries
    assert 4 * 3600 * 0.75 <= retries[-1] <= 4 * 3600 * 1.25  # capped at 4 h, with jitter
    assert {r.headers["webhook-id"] for r in receiver.received} == {item.eventId}


def test_a_timeout_is_retried_like_an_error(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    receiver.answers = [(204, 3.0)]  # answers after the 0.5 s timeout
    tenant, webhook = register(receiver.url)
    event = received_event(sqs, delivery(tenant, webhook))

    assert deliver(event) == message_ids(event)
    assert len(receiver.wait_for(1)) == 1
    assert len(retries) == 1


def test_connection_refused_is_retried(local_mode: None, sqs: Any, retries: list[int]) -> None:
    tenant, webhook = register("http://127.0.0.1:9/closed")  # the discard port: nothing listens
    event = received_event(sqs, delivery(tenant, webhook))

    assert deliver(event) == message_ids(event)
    assert len(retries) == 1


def test_redirects_are_not_followed(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    receiver.default = (302, 0.0)
    receiver.headers = {"Location": receiver.url + "/elsewhere"}
    tenant, webhook = register(receiver.url)
    event = received_event(sqs, delivery(tenant, webhook))

    assert deliver(event) == message_ids(event)
    time.sleep(0.2)  # a followed redirect would arrive now
    assert [r.path for r in receiver.received] == ["/hooks/parley"]


def test_a_failing_endpoint_gets_no_retry_storm(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    """Ten events to one failing endpoint: one request each, then every one waits its backoff."""
    receiver.default = (500, 0.0)
    tenant, webhook = register(receiver.url)
    event = received_event(sqs, *(delivery(tenant, webhook, n) for n in range(10)))

    assert sorted(deliver(event)) == sorted(message_ids(event))

    assert len(receiver.wait_for(10)) == 10
    assert len(retries) == 10
    assert min(retries) >= 22
    assert len(set(retries)) > 1  # jitter spreads their next attempts apart
    assert visible(sqs, event) == []


def test_after_the_retry_window_it_is_parked_in_the_dlq(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    receiver.default = (500, 0.0)
    tenant, webhook = register(receiver.url)
    item = delivery(tenant, webhook)
    first_sent = int((time.time() - DAY - 1) * 1000)
    event = received_event(sqs, item, ApproximateReceiveCount="15", SentTimestamp=str(first_sent))

    assert deliver(event) == []  # settled: Lambda deletes it from the queue

    assert len(receiver.wait_for(1)) == 1  # the last attempt was made
    assert retries == []
    (parked,) = drain(sqs, os.environ["WEBHOOK_DLQ_URL"])
    assert json.loads(parked["Body"]) == json.loads(item.model_dump_json())
    assert parked["MessageAttributes"]["failure"]["StringValue"] == "HTTP 500"
    assert parked["MessageAttributes"]["attempts"]["StringValue"] == "15"


def test_still_inside_the_window_it_is_retried(
    local_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    receiver.default = (500, 0.0)
    tenant, webhook = register(receiver.url)
    almost_a_day = int((time.time() - DAY + 600) * 1000)
    event = received_event(
        sqs,
        delivery(tenant, webhook),
        ApproximateReceiveCount="14",
        SentTimestamp=str(almost_a_day),
    )

    assert deliver(event) == message_ids(event)
    assert len(retries) == 1
    assert drain(sqs, os.environ["WEBHOOK_DLQ_URL"]) == []


def test_a_malformed_message_is_parked(local_mode: None, sqs: Any) -> None:
    url = os.environ["WEBHOOK_QUEUE_URL"]
    sqs.send_message(QueueUrl=url, MessageBody='{"not": "a delivery"}')
    messages = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")

    assert deliver(event) == []
    (parked,) = drain(sqs, os.environ["WEBHOOK_DLQ_URL"])
    assert parked["Body"] == '{"not": "a delivery"}'


# --- SSRF at delivery --------------------------------------------------------------------------


def test_deployed_mode_never_calls_loopback(
    deployed_mode: None, sqs: Any, receiver: Receiver, retries: list[int]
) -> None:
    tenant, webhook = register(receiver.url)  # stored directly: registration would refuse it
    event = received_event(sqs, delivery(tenant, webhook))

    assert deliver(event) == message_ids(event)
    time.sleep(0.2)
    assert receiver.received == []
    assert len(retries) == 1


def test_a_name_now_resolving_to_a_private_address_is_refused(
    deployed_mode: None,
    sqs: Any,
    fake_dns: dict[str, list[str]],
    retries: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: public at registration, private at delivery."""
    connections: list[Any] = []
    monkeypatch.setattr(
        urllib3.HTTPSConnectionPool, "urlopen", lambda *a, **k: connections.append(a)
    )
    fake_dns["rebind.example.com"] = [PUBLIC_IP]
    tenant, webhook = register("https://rebind.example.com/hook")
    fake_dns["rebind.example.com"] = ["10.0.0.7"]

    event = received_event(sqs, delivery(tenant, webhook))

    assert deliver(event) == message_ids(event)
    assert connections == []
    assert len(retries) == 1


def test_delivery_connects_to_the_address_it_checked(
    deployed_mode: None,
    sqs: Any,
    fake_dns: dict[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One resolution per attempt; the connection goes to that address, while TLS (SNI and the
    certificate check) and the Host header use the URL's name."""
    lookups: list[str] = []
    resolve = socket.getaddrinfo

    def counting(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    pools: list[dict[str, Any]] = []

    class Answer:
        status = 204

    def urlopen(self: urllib3.HTTPSConnectionPool, method: str, path: str, **kw: Any) -> Answer:
        pools.append(
            {
                "host": self.host,
                "port": self.port,
                "sni": self.conn_kw.get("server_hostname"),
                "assert_hostname": self.assert_hostname,
                "path": path,
                "host_header": kw["headers"]["host"],
                "redirect": kw["redirect"],
            }
        )
        return Answer()

    monkeypatch.setattr(urllib3.HTTPSConnectionPool, "urlopen", urlopen)
    tenant, webhook = register("https://hooks.example.com:8443/in?source=parley")

    assert deliver(received_event(sqs, delivery(tenant, webhook))) == []

    assert lookups == ["hooks.example.com"]
    assert pools == [
        {
            "host": PUBLIC_IP,
            "port": 8443,
            "sni": "hooks.example.com",
            "assert_hostname": "hooks.example.com",
            "path": "/in?source=parley",
            "host_header": "hooks.example.com:8443",
            "redirect": False,
        }
    ]
