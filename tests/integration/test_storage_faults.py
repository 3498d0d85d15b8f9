"""Storage faults end in full success or a retryable 503, never silent loss (ARCHITECTURE.md).

moto never throttles and never leaves items unprocessed, so faults are injected: a fake client
for the batch writer and botocore's Stubber on a real client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from functions.ingest.app import handler as ingest
from shared import services
from shared.dynamo import Deadline, ParallelBatchWriter
from shared.errors import StorageUnavailable
from shared.idempotency import IdempotencyStore
from shared.ingest.service import IngestService
from shared.ingest.store import RecordStore
from shared.settings import get_settings
from tests.support import api_event, invoke

TABLE = "records"


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "BatchWriteItem",
    )


class FakeDynamo:
    """Stores what it is given, after failing the way it is told to."""

    def __init__(self, faults: list[Any] | None = None, delay: float = 0.0) -> None:
        self.faults = list(faults or [])
        self.delay = delay
        self.items: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            fault = self.faults.pop(0) if self.faults else None
        try:
            time.sleep(self.delay)
            (requests,) = RequestItems.values()
            if isinstance(fault, Exception):
                raise fault
            if fault == "half-unprocessed":
                kept, left = requests[: len(requests) // 2], requests[len(requests) // 2 :]
            else:
                kept, left = requests, []
            for request in kept:
                item = request["PutRequest"]["Item"]
                self.items[item["sk"]["S"]] = item
            return {"UnprocessedItems": {TABLE: left} if left else {}}
        finally:
            with self._lock:
                self.in_flight -= 1


def items(count: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": "t#c"}, "sk": {"S": f"r{i}"}} for i in range(count)]


def write(fake: FakeDynamo, count: int, seconds: float = 5.0) -> None:
    writer = ParallelBatchWriter(fake, concurrency=8)  # type: ignore[arg-type]
    writer.put_items(TABLE, items(count), Deadline(seconds))


class TestBatchWriter:
    def test_unprocessed_items_are_retried_until_stored(self) -> None:
        fake = FakeDynamo(["half-unprocessed"] * 6)
        write(fake, 100)
        assert len(fake.items) == 100

    @pytest.mark.parametrize(
        "fault",
        [
            throttled(),
            ClientError({"Error": {"Code": "ThrottlingException"}}, "BatchWriteItem"),
            ClientError(
                {
                    "Error": {"Code": "InternalServerError"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "BatchWriteItem",
            ),
            EndpointConnectionError(endpoint_url="http://dynamodb"),
            ReadTimeoutError(endpoint_url="http://dynamodb"),
        ],
    )
    def test_transient_faults_are_retried(self, fault: Exception) -> None:
        fake = FakeDynamo([fault, fault])
        write(fake, 30)
        assert len(fake.items) == 30

    def test_persistent_throttling_ends_in_storage_unavailable(self) -> None:
        fake = FakeDynamo([throttled()] * 10_000)
        with pytest.raises(StorageUnavailable):
            write(fake, 60, seconds=0.3)

    def test_items_never_fully_processed_end_in_storage_unavailable(self) -> None:
        fake = FakeDynamo(["half-unprocessed"] * 10_000)
        with pytest.raises(StorageUnavailable):
            write(fake, 25, seconds=0.3)

    def test_non_transient_errors_are_not_retried(self) -> None:
        invalid = ClientError({"Error": {"Code": "ValidationException"}}, "BatchWriteItem")
        fake = FakeDynamo([invalid])
        with pytest.raises(ClientError):
            write(fake, 10)
        assert fake.calls == 1

    def test_batches_are_written_in_parallel(self) -> None:
        fake = FakeDynamo(delay=0.02)
        write(fake, 25 * 16)
        assert len(fake.items) == 400
        assert fake.calls == 16
        assert fake.max_in_flight > 1

    def test_stubbed_real_client_retries_unprocessed_items(self) -> None:
        client = boto3.client("dynamodb", region_name="us-east-1")
        batch = items(3)
        with Stubber(client) as stub:
            stub.add_response(
                "batch_write_item",
                {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": batch[2]}}]}},
                {"RequestItems": {TABLE: [{"PutRequest": {"Item": i}} for i in batch]}},
            )
            stub.add_client_error(
                "batch_write_item",
                service_error_code="ProvisionedThroughputExceededException",
                http_status_code=400,
            )
            stub.add_response(
                "batch_write_item",
                {"UnprocessedItems": {}},
                {"RequestItems": {TABLE: [{"PutRequest": {"Item": batch[2]}}]}},
            )
            ParallelBatchWriter(client, 4).put_items(TABLE, batch, Deadline(5))
            stub.assert_no_pending_responses()


@pytest.fixture
def faulty_storage(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> Iterator[FakeDynamo]:
    """The ingest function's service, with the record writes going to a failing fake."""
    fake = FakeDynamo([throttled()] * 10_000)
    real = services.ingest_service()
    store = RecordStore(fake, TABLE, ParallelBatchWriter(fake, 4))  # type: ignore[arg-type]
    service = IngestService(store, real._idempotency)
    monkeypatch.setattr(services, "ingest_service", lambda: service)
    monkeypatch.setenv("PARLEY_STORAGE_DEADLINE_SECONDS", "0.3")
    get_settings.cache_clear()
    yield fake
    monkeypatch.delenv("PARLEY_STORAGE_DEADLINE_SECONDS")
    get_settings.cache_clear()


def test_throttled_storage_answers_retryable_503(faulty_storage: FakeDynamo) -> None:
    event = api_event(
        "POST",
        "/v1/ingest",
        body={"events": [{"conversation_id": "c", "role": "user", "message": "m"}]},
    )
    answer = invoke(ingest, event)
    assert answer.status == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.body["retryable"] is True
    assert answer.body["success"] is False
    assert faulty_storage.calls > 1  # it did retry before giving up


def test_unexpected_errors_are_a_retryable_500_without_details(
    monkeypatch: pytest.MonkeyPatch, dynamodb: Any
) -> None:
    class Broken:
        def ingest(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "ingest_service", Broken)
    answer = invoke(ingest, api_event("POST", "/v1/ingest", body={"events": []}))
    assert answer.status == 500
    assert answer.body["retryable"] is True
    assert "secret" not in answer.body["message"]
    assert answer.body["requestId"] == answer.headers["x-request-id"]


def test_idempotency_store_faults_are_retried(dynamodb: Any) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = IdempotencyStore(client, "t", ttl_seconds=60, claim_seconds=60)
    with Stubber(client) as stub:
        stub.add_client_error(
            "put_item", service_error_code="ThrottlingException", http_status_code=400
        )
        stub.add_response("put_item", {})
        assert store.claim("scope", "hash", "request", Deadline(5)) is None
        stub.assert_no_pending_responses()
