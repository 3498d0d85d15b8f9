"""`Idempotency-Key` on the conversations append and the runs create and append, through the
real handlers under moto: the draft's semantics as on `/v1/ingest` (replay, 422, 409), per
tenant and per route, answered in each API's own envelope."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest

from shared import services
from shared.conversations.endpoints import APPEND_PATH
from shared.dynamo import Deadline
from shared.idempotency import key_scope
from shared.runs.endpoints import APPEND_PATH as RUN_APPEND_PATH
from shared.runs.endpoints import BASE_PATH as RUNS_PATH
from tests.integration.conversations import (
    BASE,
    append,
    create,
    error,
    fresh_tenant,
    get,
    list_,
    open_live,
    run_append,
    run_create,
)
from tests.support import Answer

MESSAGES = {"messages": [{"role": "user", "content": "hello"}]}
OTHER = {"messages": [{"role": "user", "content": "something else"}]}
RUN = {"agentName": "Bot", "messages": [{"role": "user", "content": "hi"}], "status": "active"}


def keyed(key: str) -> dict[str, dict[str, str]]:
    return {"headers": {"Idempotency-Key": key}}


def new_key() -> str:
    return f"key-{uuid.uuid4().hex}"


def contents(conversation_id: str, tenant: str) -> list[str]:
    return [m["content"] for m in get(conversation_id, tenant).body["messages"]]


def same_answer(first: Answer, repeat: Answer) -> None:
    assert first.status == repeat.status == 200, (first.body, repeat.body)
    assert repeat.body == first.body


# Each write route: (call it with a body and key, the body, another body).
def conversations_append(tenant: str, body: Any, key: str, conversation_id: str) -> Answer:
    return append(conversation_id, body, tenant, **keyed(key))


def runs_append(tenant: str, body: Any, key: str, conversation_id: str) -> Answer:
    return run_append(conversation_id, body, tenant, **keyed(key))


@pytest.mark.parametrize("send", [conversations_append, runs_append])
def test_a_keyed_append_sent_again_is_replayed_and_stored_once(dynamodb: Any, send: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    key = new_key()
    first = send(tenant, MESSAGES, key, conversation_id)
    repeat = send(tenant, MESSAGES, key, conversation_id)
    same_answer(first, repeat)
    assert contents(conversation_id, tenant) == ["hello"]
    # A new key is a new request: the same messages again are a second turn.
    assert send(tenant, MESSAGES, new_key(), conversation_id).status == 200
    assert contents(conversation_id, tenant) == ["hello", "hello"]


@pytest.mark.parametrize("send", [conversations_append, runs_append])
def test_a_key_reused_with_another_body_is_422_and_stores_nothing(dynamodb: Any, send: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    key = new_key()
    assert send(tenant, MESSAGES, key, conversation_id).status == 200
    refused = send(tenant, OTHER, key, conversation_id)
    assert "different request body" in error(refused, 422, "UNPROCESSABLE_CONTENT")["message"]
    assert contents(conversation_id, tenant) == ["hello"]


CONVERSATION = {"promptId": "p_1", "content": "User: hi\nAssistant: hello"}


@pytest.mark.parametrize(("send", "body"), [(run_create, RUN), (create, CONVERSATION)])
def test_a_keyed_create_sent_again_makes_one_conversation(
    dynamodb: Any, send: Any, body: dict[str, Any]
) -> None:
    tenant = fresh_tenant()
    key = new_key()
    first = send(body, tenant, **keyed(key))
    repeat = send(body, tenant, **keyed(key))
    same_answer(first, repeat)
    assert list_(tenant).body["pagination"]["total"] == 1
    refused = send({**body, "title": "another"}, tenant, **keyed(key))
    error(refused, 422, "UNPROCESSABLE_CONTENT")
    assert list_(tenant).body["pagination"]["total"] == 1


def test_the_body_idempotency_key_wins_over_the_header(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    first = create({**CONVERSATION, "idempotencyKey": "body-key"}, tenant, **keyed(new_key()))
    # Another header key, the same body key and body: the body key finds the first.
    again = create({**CONVERSATION, "idempotencyKey": "body-key"}, tenant, **keyed(new_key()))
    same_answer(first, again)
    other = {**CONVERSATION, "idempotencyKey": "body-key", "title": "t"}
    error(create(other, tenant, **keyed(new_key())), 409, "CONFLICT")  # as the body key answers
    assert list_(tenant).body["pagination"]["total"] == 1


def body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()  # as api_event encodes it


@pytest.mark.parametrize(
    ("route", "send"),
    [
        (APPEND_PATH, conversations_append),
        (RUN_APPEND_PATH, runs_append),
        (RUNS_PATH, None),
        (BASE, None),
    ],
)
def test_a_request_while_the_first_is_in_flight_is_409_with_retry_after(
    dynamodb: Any, route: str, send: Any
) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    key = new_key()
    body = MESSAGES if send is not None else RUN if route == RUNS_PATH else CONVERSATION
    # The first request holds the claim (it is still running).
    path = route.format(id=conversation_id)
    claim = services.idempotency_store().claim(
        key_scope(tenant, path, key), body_hash(body), "first-request", Deadline(5)
    )
    assert claim is None
    if send is None:
        answer = (run_create if route == RUNS_PATH else create)(body, tenant, **keyed(key))
    else:
        answer = send(tenant, body, key, conversation_id)
    error(answer, 409, "CONFLICT")
    assert answer.headers["retry-after"] == "1"
    assert contents(conversation_id, tenant) == []
    assert list_(tenant).body["pagination"]["total"] == 1  # no run made


def test_keys_are_per_tenant_and_per_route(dynamodb: Any) -> None:
    key = new_key()
    acme, globex = fresh_tenant(), fresh_tenant()
    acme_id, globex_id = open_live(acme), open_live(globex)
    assert conversations_append(acme, MESSAGES, key, acme_id).status == 200
    # Another tenant, and another route of the same tenant, each run their own request.
    assert conversations_append(globex, OTHER, key, globex_id).status == 200
    assert runs_append(acme, OTHER, key, acme_id).status == 200
    assert contents(acme_id, acme) == ["hello", "something else"]
    assert contents(globex_id, globex) == ["something else"]


def test_one_key_on_two_conversations_is_two_requests(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    first, second = open_live(tenant), open_live(tenant)
    key = new_key()
    assert conversations_append(tenant, MESSAGES, key, first).status == 200
    answer = conversations_append(tenant, MESSAGES, key, second)
    assert answer.status == 200, answer.body
    assert answer.body["id"] == second
    assert contents(first, tenant) == contents(second, tenant) == ["hello"]


def test_a_refused_keyed_request_can_be_fixed_under_the_same_key(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    key = new_key()
    error(append(conversation_id, {"messages": []}, tenant, **keyed(key)), 400, "VALIDATION_ERROR")
    assert append(conversation_id, {"messages": []}, tenant, **keyed(key)).status == 400
    # Only answers are remembered: the key is free again, for the same (or a fixed) body.
    assert append(conversation_id, MESSAGES, tenant, **keyed(key)).status == 200
    assert contents(conversation_id, tenant) == ["hello"]


def test_an_invalid_key_is_a_400(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    for bad in ("k" * 256, "tab\tkey"):
        refused = error(
            append(conversation_id, MESSAGES, tenant, **keyed(bad)), 400, "VALIDATION_ERROR"
        )
        assert set(refused["details"]) == {"Idempotency-Key"}
    assert contents(conversation_id, tenant) == []
