"""Concurrent requests under one Idempotency-Key, through the real ingest handler, against the
embedded DynamoDB-protocol server over HTTP (as `make dev` runs it): the key is claimed
atomically, so exactly one request does the work; the others are told to retry (409) or get
the first answer replayed; a different body under the key is 422."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.server import start_moto
from functions.ingest.app import handler as ingest
from shared import services
from shared.dynamo import Deadline, make_client
from shared.errors import StorageUnavailable
from shared.idempotency import IdempotencyStore
from shared.ingest.service import IngestService
from shared.ingest.store import RecordStore
from shared.settings import Settings, get_settings
from tests.support import Answer, api_event, invoke

THREADS = 8
ROUNDS = 4


@pytest.fixture(scope="module")
def moto_endpoint(dynamodb: Any) -> Iterator[str]:
    endpoint, server = start_moto()
    yield endpoint
    server.stop()


@pytest.fixture
def over_http(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> IngestService:
    settings = get_settings()
    client = make_client(Settings(dynamodb_endpoint=moto_endpoint, write_concurrency=THREADS))
    real = services.ingest_service()
    records = RecordStore(client, settings.records_table, real._records._writer)
    idempotency = IdempotencyStore(client, settings.idempotency_table, 3600, claim_seconds=60)
    service = IngestService(records, idempotency)
    monkeypatch.setattr(services, "ingest_service", lambda: service)
    return service


def run_together(count: int, work: Callable[[int], Answer]) -> list[Answer]:
    barrier = threading.Barrier(count)
    answers: list[Answer] = []
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            answers.append(work(n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


def post(body: Any, key: str) -> Answer:
    return invoke(
        ingest, api_event("POST", "/v1/ingest", body=body, headers={"Idempotency-Key": key})
    )


def stored_messages(conversation_id: str) -> list[str]:
    records, _ = services.record_store().list(
        "acme", conversation_id, limit=1000, cursor=None, environment=None, deadline=Deadline(5)
    )
    return [r["message"] for r in records]


def chat(conversation_id: str, message: str) -> dict[str, Any]:
    # No timestamp: the record's id comes from the send (the key), as for most real clients.
    return {"conversation_id": conversation_id, "role": "user", "message": message}


def assert_in_progress(answer: Answer) -> None:
    assert answer.status == 409, answer.body
    assert answer.body["retryable"] is True
    assert answer.headers["retry-after"] == "1"
    assert "in progress" in answer.body["message"]


@pytest.mark.usefixtures("over_http")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_one_body_sent_concurrently_executes_once(round_: int) -> None:
    conversation_id = f"idem-{uuid.uuid4().hex[:12]}"
    key = f"key-{conversation_id}"
    body = {"events": [chat(conversation_id, f"m{i}") for i in range(20)]}

    answers = run_together(THREADS, lambda n: post(body, key))

    done = [a for a in answers if a.status == 200]
    for answer in answers:
        if answer.status != 200:
            assert_in_progress(answer)
    assert done, [a.body for a in answers]
    # Every 200 is the one execution's answer, replayed: one requestId, header and body.
    assert {a.body["requestId"] for a in done} == {done[0].body["requestId"]}
    assert all(a.headers["x-request-id"] == a.body["requestId"] for a in done)
    assert stored_messages(conversation_id) == [f"m{i}" for i in range(20)]
    # Once the first has finished, a retry of a 409 gets the replay.
    again = post(body, key)
    assert again.status == 200
    assert again.body == done[0].body


@pytest.mark.usefixtures("over_http")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_different_bodies_under_one_key_store_only_one(round_: int) -> None:
    conversation_id = f"idem-{uuid.uuid4().hex[:12]}"
    key = f"key-{conversation_id}"

    answers = run_together(
        THREADS, lambda n: post({"events": [chat(conversation_id, f"body-{n}")]}, key)
    )

    statuses = sorted(a.status for a in answers)
    assert statuses.count(200) == 1, [a.body for a in answers]
    (winner,) = [a for a in answers if a.status == 200]
    for answer in answers:
        if answer.status == 409:
            assert_in_progress(answer)
        elif answer.status == 422:
            assert "different request body" in answer.body["message"]
            assert answer.body["retryable"] is False
        else:
            assert answer is winner
    stored = stored_messages(conversation_id)
    assert len(stored) == 1
    # The stored body answers the replay; every other body is refused for good.
    n = int(stored[0].removeprefix("body-"))
    assert post({"events": [chat(conversation_id, stored[0])]}, key).body == winner.body
    assert post({"events": [chat(conversation_id, f"body-{n + 1}")]}, key).status == 422


@pytest.mark.usefixtures("over_http")
def test_a_failed_first_attempt_frees_the_key(
    over_http: IngestService, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = f"idem-{uuid.uuid4().hex[:12]}"
    key = f"key-{conversation_id}"
    body = {"events": [chat(conversation_id, "kept")]}

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable()

    with monkeypatch.context() as patch:
        patch.setattr(over_http._records, "put", unavailable)
        failed = post(body, key)
    assert failed.status == 503
    retried = post(body, key)
    assert retried.status == 200, retried.body
    assert stored_messages(conversation_id) == ["kept"]


@pytest.mark.usefixtures("over_http")
def test_a_crashed_claim_expires(over_http: IngestService) -> None:
    conversation_id = f"idem-{uuid.uuid4().hex[:12]}"
    key = f"key-{conversation_id}"
    body = {"events": [chat(conversation_id, "kept")]}
    store = over_http._idempotency
    scope = f"acme#/v1/ingest#{key}"
    body_hash = hashlib.sha256(json.dumps(body).encode()).hexdigest()
    assert store.claim(scope, body_hash, "crashed-request", Deadline(5)) is None  # never done
    assert_in_progress(post(body, key))
    # The claim's expiry passes (set back rather than waited for).
    store._client.update_item(
        TableName=store._table,
        Key={"pk": {"S": scope}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert post(body, key).status == 200
    assert stored_messages(conversation_id) == ["kept"]
