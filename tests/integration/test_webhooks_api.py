"""The webhooks API through its real handlers: register, list, delete, test; tenancy; validation
and the SSRF rules at registration."""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook as Verifier

from functions.webhooks_create.app import handler as create_handler
from functions.webhooks_delete.app import handler as delete_handler
from functions.webhooks_list.app import handler as list_handler
from functions.webhooks_test.app import handler as send_test_handler
from tests.support import Answer, LambdaContext, api_event, id_event, invoke
from tests.webhook_support import drain, queued

BASE = "/api/v1/webhooks"
URL = "https://hooks.example.com/parley"
ALL_EVENTS = [
    "conversation.created",
    "conversation.updated",
    "conversation.completed",
    "insights.ready",
]


def tenant() -> str:
    return f"wh-{uuid.uuid4().hex[:12]}"


def create(body: Any, tenant: str) -> Answer:
    return invoke(create_handler, api_event("POST", BASE, body=body, tenant=tenant))


def list_(tenant: str) -> Answer:
    return invoke(list_handler, api_event("GET", BASE, tenant=tenant))


def delete(webhook_id: str, tenant: str) -> Answer:
    event = id_event("DELETE", BASE + "/{id}", webhook_id, tenant=tenant)
    return invoke(delete_handler, event)


def send_test(webhook_id: str, tenant: str) -> Answer:
    event = id_event("POST", BASE + "/{id}/test", webhook_id, tenant=tenant)
    return invoke(send_test_handler, event)


def validation_error(answer: Answer, field: str) -> str:
    assert answer.status == 400, answer.body
    error = answer.body["error"]
    assert error["code"] == "VALIDATION_ERROR", error
    assert field in error["details"], error
    problem: str = error["details"][field]
    return problem


@pytest.fixture
def sqs(dynamodb: Any) -> Any:
    client = boto3.client("sqs", region_name="us-east-1")
    drain(client, os.environ["WEBHOOK_QUEUE_URL"])
    return client


# --- create, list, delete ----------------------------------------------------------------------


def test_create_answers_the_endpoint_with_its_secret_once(dynamodb: Any, fake_dns: Any) -> None:
    owner = tenant()
    answer = create({"url": URL, "events": ALL_EVENTS, "description": "CRM sync"}, owner)

    assert answer.status == 201, answer.body
    body = answer.body
    assert set(body) == {"id", "url", "events", "description", "secret", "createdAt"}
    assert body["id"].startswith("wh_")
    assert len(body["id"]) == 29
    assert body["url"] == URL
    assert body["events"] == ALL_EVENTS
    assert body["description"] == "CRM sync"
    assert body["createdAt"].endswith("Z")
    # Standard Webhooks secret: whsec_ + base64 of 24-64 random bytes; the library takes it.
    assert body["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(body["secret"].removeprefix("whsec_"))) <= 64
    Verifier(body["secret"])

    listed = list_(owner)
    assert listed.status == 200
    assert listed.body == {"data": [{k: v for k, v in body.items() if k != "secret"}]}
    assert body["secret"] not in json.dumps(listed.body)


def test_secrets_differ_and_list_is_in_creation_order(dynamodb: Any, fake_dns: Any) -> None:
    owner = tenant()
    first = create({"url": URL, "events": ["conversation.created"]}, owner).body
    second = create({"url": URL + "/2", "events": ["insights.ready"]}, owner).body
    assert first["secret"] != second["secret"]
    assert [w["id"] for w in list_(owner).body["data"]] == [first["id"], second["id"]]
    assert "description" not in first


def test_repeated_event_names_subscribe_once(dynamodb: Any, fake_dns: Any) -> None:
    answer = create({"url": URL, "events": ["insights.ready", "insights.ready"]}, tenant())
    assert answer.body["events"] == ["insights.ready"]


def test_delete_removes_it_and_a_second_delete_is_404(dynamodb: Any, fake_dns: Any) -> None:
    owner = tenant()
    webhook_id = create({"url": URL, "events": ALL_EVENTS}, owner).body["id"]

    answer = delete(webhook_id, owner)
    assert answer.status == 204
    assert answer.headers["x-request-id"]
    assert list_(owner).body == {"data": []}
    again = delete(webhook_id, owner)
    assert again.status == 404
    assert again.body["error"]["code"] == "NOT_FOUND"


def test_another_tenants_webhook_is_404_everywhere(dynamodb: Any, fake_dns: Any, sqs: Any) -> None:
    owner, other = tenant(), tenant()
    webhook_id = create({"url": URL, "events": ALL_EVENTS}, owner).body["id"]

    assert list_(other).body == {"data": []}
    for answer in (delete(webhook_id, other), send_test(webhook_id, other)):
        assert answer.status == 404, answer.body
        assert answer.body == {"error": {"code": "NOT_FOUND", "message": "Webhook not found"}}
    assert [w["id"] for w in list_(owner).body["data"]] == [webhook_id]
    assert queued(sqs, owner, other) == []


def test_a_malformed_id_is_a_400_naming_it(dynamodb: Any) -> None:
    validation_error(delete("not-a-webhook", tenant()), "id")
    validation_error(send_test("wh_123", tenant()), "id")


def test_the_account_limit_is_a_409(
    dynamodb: Any, fake_dns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import services

    monkeypatch.setenv("PARLEY_MAX_WEBHOOKS_PER_TENANT", "2")
    services.reset()
    try:
        owner = tenant()
        for _ in range(2):
            assert create({"url": URL, "events": ALL_EVENTS}, owner).status == 201
        answer = create({"url": URL, "events": ALL_EVENTS}, owner)
        assert answer.status == 409
        assert answer.body["error"]["code"] == "CONFLICT"
        assert "2 webhooks" in answer.body["error"]["message"]
    finally:
        monkeypatch.delenv("PARLEY_MAX_WEBHOOKS_PER_TENANT")
        services.reset()


# --- /test -------------------------------------------------------------------------------------


def test_test_route_queues_a_webhook_test_event(dynamodb: Any, fake_dns: Any, sqs: Any) -> None:
    owner = tenant()
    webhook_id = create({"url": URL, "events": ["insights.ready"]}, owner).body["id"]

    answer = send_test(webhook_id, owner)

    assert answer.status == 202, answer.body
    assert answer.body["webhookId"] == webhook_id
    assert answer.body["type"] == "webhook.test"
    assert answer.body["status"] == "queued"
    assert answer.body["eventId"].startswith("msg_")
    (queued_message,) = queued(sqs, owner)
    assert queued_message["webhookId"] == webhook_id
    assert queued_message["eventId"] == answer.body["eventId"]
    assert queued_message["type"] == "webhook.test"
    assert queued_message["data"] == {"webhookId": webhook_id, "message": "Test event from Parley"}


def test_test_route_answers_503_when_the_queue_is_down(
    dynamodb: Any, fake_dns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from shared import services

    owner = tenant()
    webhook_id = create({"url": URL, "events": ALL_EVENTS}, owner).body["id"]

    def down(*args: Any, **kwargs: Any) -> Any:
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    monkeypatch.setattr(services.webhook_queue()._client, "send_message_batch", down)
    event = id_event("POST", BASE + "/{id}/test", webhook_id, tenant=owner)
    answer = invoke(send_test_handler, event, LambdaContext(remaining_ms=1500))
    assert answer.status == 503, answer.body
    assert answer.body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert answer.headers["retry-after"]


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ALL_EVENTS}, "url"),
        ({"url": URL}, "events"),
        ({"url": URL, "events": []}, "events"),
        ({"url": URL, "events": "conversation.created"}, "events"),
        ({"url": URL, "events": ["conversation.deleted"]}, "events[0]"),
        ({"url": URL, "events": ["webhook.test"]}, "events[0]"),
        ({"url": 42, "events": ALL_EVENTS}, "url"),
        ({"url": "https://hooks.example.com:0/", "events": ALL_EVENTS}, "url"),
        ({"url": "https://hooks..example.com/", "events": ALL_EVENTS}, "url"),
        ({"url": URL, "events": ALL_EVENTS, "description": "x" * 501}, "description"),
        ({"url": URL, "events": ALL_EVENTS, "secret": "whsec_mine"}, "secret"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(
    dynamodb: Any, fake_dns: Any, body: Any, field: str
) -> None:
    owner = tenant()
    validation_error(create(body, owner), field)
    assert list_(owner).body == {"data": []}


def test_unknown_event_names_are_listed_in_the_answer(dynamodb: Any, fake_dns: Any) -> None:
    problem = validation_error(
        create({"url": URL, "events": ["message.sent"]}, tenant()), "events[0]"
    )
    for name in ALL_EVENTS:
        assert name in problem


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/parley", "https"),
        ("ftp://hooks.example.com/parley", "https"),
        ("hooks.example.com/parley", "https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https://hooks.example.com/a b", "spaces"),
        ("https://127.0.0.1/hook", "not a public address"),
        ("http://127.0.0.1:8080/hook", "https"),
        ("https://localhost/hook", "not a public address"),
        ("https://10.0.0.8/hook", "not a public address"),
        ("https://192.168.1.1/hook", "not a public address"),
        ("https://172.16.5.4/hook", "not a public address"),
        ("https://169.254.169.254/latest/meta-data/", "not a public address"),
        ("https://[fd00:ec2::254]/", "not a public address"),
        ("https://[::1]/", "not a public address"),
        ("https://[::ffff:10.0.0.1]/", "not a public address"),
        ("https://100.64.0.1/", "not a public address"),
        ("https://0.0.0.0/", "not a public address"),
        ("https://224.0.0.1/", "not a public address"),
        ("https://internal.example.com/hook", "10.1.2.3"),
        ("https://mixed.example.com/hook", "192.168.0.10"),
        ("https://metadata.example.com/hook", "169.254.169.254"),
        ("https://v6-metadata.example.com/hook", "fd00:ec2::254"),
        ("https://cgnat.example.com/hook", "100.64.12.34"),
        ("https://nowhere.invalid/hook", "does not resolve"),
        ("https://hooks.example.com/" + "a" * 2100, "2048"),
    ],
)
def test_unsafe_urls_are_refused_at_registration(
    dynamodb: Any, fake_dns: Any, url: str, reason: str
) -> None:
    owner = tenant()
    problem = validation_error(create({"url": url, "events": ALL_EVENTS}, owner), "url")
    assert reason in problem, problem
    assert list_(owner).body == {"data": []}


def test_local_mode_also_allows_http_to_localhost(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import services

    monkeypatch.setenv("PARLEY_LOCAL_MODE", "1")
    services.reset()
    try:
        owner = tenant()
        for url in ("http://127.0.0.1:9/hook", "http://localhost:8080/x", "https://localhost/"):
            assert create({"url": url, "events": ALL_EVENTS}, owner).status == 201, url
        # Other private addresses stay refused, in local mode too.
        for url in ("http://10.0.0.8/hook", "https://169.254.169.254/"):
            validation_error(create({"url": url, "events": ALL_EVENTS}, owner), "url")
    finally:
        monkeypatch.delenv("PARLEY_LOCAL_MODE")
        services.reset()
