"""The raw archive: every accepted ingest body is in S3 before the answer; no archive, no
acknowledgement; a replay of the archive rebuilds the same records, never a second copy."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.ingest.app import handler as ingest
from functions.ingest_multi.app import handler as ingest_multi
from functions.ingest_vogent_raw.app import handler as ingest_vogent_raw
from shared import services
from shared.dynamo import Deadline
from shared.errors import StorageUnavailable
from shared.ingest.archive import (
    ArchivedRequest,
    ArchiveObjects,
    ArchiveReader,
    ArchiveStore,
    discarded_key,
)
from shared.ingest.policies import DIRECT
from shared.ingest.service import IngestService, replay
from shared.settings import get_settings
from tests.support import Answer, api_event, invoke

pytestmark = pytest.mark.usefixtures("dynamodb")

BUCKET = "test-archive"


def s3() -> Any:
    return boto3.client("s3", region_name="us-east-1")


def post(body: Any, handler: Any = ingest, path: str = "/v1/ingest", **kw: Any) -> Answer:
    return invoke(handler, api_event("POST", path, body=body, **kw))


def archived_object(answer: Answer, tenant: str = "acme") -> dict[str, Any]:
    day = datetime.now(UTC)
    key = f"{tenant}/{day:%Y/%m/%d}/{answer.body['requestId']}.json.gz"
    data = s3().get_object(Bucket=BUCKET, Key=key)["Body"].read()
    document: dict[str, Any] = json.loads(gzip.decompress(data))
    return document


def stored(conversation_id: str) -> list[dict[str, Any]]:
    records, _ = services.record_store().list(
        "acme", conversation_id, limit=1000, cursor=None, environment=None, deadline=Deadline(5)
    )
    return records


def fresh_id() -> str:
    return f"arch-{uuid.uuid4().hex[:12]}"


def chat(conversation_id: str, message: str) -> dict[str, Any]:
    return {"conversation_id": conversation_id, "role": "user", "message": message}


def test_an_accepted_body_is_archived_with_what_a_replay_needs() -> None:
    conversation_id = fresh_id()
    body = {"environment": "staging", "events": [chat(conversation_id, "hello")]}
    headers = {"Idempotency-Key": f"k-{conversation_id}", "Prefer": "partial-success"}
    answer = post(body, headers=headers, gzip_body=True)
    assert answer.status == 200, answer.body

    document = archived_object(answer)
    assert document["tenantId"] == "acme"
    assert document["route"] == "/v1/ingest"
    assert document["requestId"] == answer.body["requestId"]
    assert document["receivedAt"] == stored(conversation_id)[0]["received_at"]
    assert document["headers"] == headers
    assert json.loads(document["body"]) == body  # decompressed, as sent


@pytest.mark.parametrize(
    ("handler", "path", "body"),
    [
        (ingest_multi, "/v1/ingest/multi", {"events": [{"messageType": "channel",
            "id": "c1", "conversationId": "arch-multi", "message": "hi", "role": "user"}]}),
        (ingest_vogent_raw, "/v1/ingest/vogent-raw", {"events": [{"id": "arch-call",
            "conversationId": "arch-call", "transcript": [{"speaker": "AI", "text": "hi"}]}]}),
    ],
)  # fmt: skip
def test_every_ingest_endpoint_archives(handler: Any, path: str, body: Any) -> None:
    answer = post(body, handler=handler, path=path)
    assert answer.status == 200, answer.body
    assert archived_object(answer)["route"] == path


def test_a_refused_body_is_not_archived() -> None:
    answer = post({"events": [{"conversation_id": fresh_id(), "role": "bot", "message": "x"}]})
    assert answer.status == 400
    listing = s3().list_objects_v2(Bucket=BUCKET, Prefix="acme/")
    assert all(answer.body["requestId"] not in o["Key"] for o in listing.get("Contents", []))


def test_an_archive_failure_is_a_retryable_503_and_nothing_is_acknowledged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = services.ingest_service()
    missing = ArchiveStore(ArchiveObjects(get_settings(), "no-such-bucket"))
    broken = IngestService(real._records, real._idempotency, missing)
    monkeypatch.setattr(services, "ingest_service", lambda: broken)
    conversation_id = fresh_id()
    body = {"events": [chat(conversation_id, "kept")]}
    key = {"Idempotency-Key": f"k-{conversation_id}"}

    answer = post(body, headers=key)
    assert answer.status == 503, answer.body
    assert answer.body["retryable"] is True
    assert answer.headers["retry-after"] == "2"
    assert "archive" in answer.body["message"]

    monkeypatch.setattr(services, "ingest_service", lambda: real)
    retried = post(body, headers=key)  # the key was released: the retry runs, once
    assert retried.status == 200, retried.body
    assert archived_object(retried)["requestId"] == retried.body["requestId"]
    assert [r["message"] for r in stored(conversation_id)] == ["kept"]


def test_replaying_the_archive_rebuilds_the_same_records_once() -> None:
    conversation_id = fresh_id()
    # No id, no timestamp, no key: the records' ids come from the request id.
    body = {"events": [chat(conversation_id, f"m{i}") for i in range(3)]}
    answer = post(body)
    assert answer.status == 200
    before = stored(conversation_id)
    document = archived_object(answer)
    archived = ArchivedRequest.from_bytes(gzip.compress(json.dumps(document).encode()))

    replayed = replay(services.record_store(), DIRECT, archived, Deadline(5))

    assert replayed.status == 200
    assert replayed.body == answer.body
    assert stored(conversation_id) == before


def test_a_request_whose_records_failed_leaves_nothing_to_replay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = services.ingest_service()

    def unavailable(*args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable()

    monkeypatch.setattr(real._records, "put", unavailable)
    answer = post({"events": [chat(fresh_id(), "not acknowledged")]})
    assert answer.status == 503
    key = f"acme/{datetime.now(UTC):%Y/%m/%d}/{answer.body['requestId']}.json.gz"
    # The archive write and its discard mark finish beside the answer: wait for them (bounded).
    for _ in range(200):
        listing = s3().list_objects_v2(Bucket=BUCKET, Prefix=discarded_key(key))
        if listing.get("Contents"):
            break
        time.sleep(0.05)
    assert listing.get("Contents"), "an unacknowledged request was not marked discarded"
    today = datetime.now(UTC).date()
    assert key not in set(ArchiveReader(s3(), BUCKET).keys("acme", today, today))
