"""Storage stand-ins. None of them touches the network.

- `NoopWriter`: the batch writer does nothing (the handler's own work, memory).
- `SleepyClient`: a fake DynamoDB client whose `batch_write_item` takes 10 ms (parallel writes).
- `fake_send`: registered on a real botocore client, answers every call without HTTP, so
  parameter validation, serialization, signing and response parsing still run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from botocore.awsrequest import AWSResponse

from shared.dynamo import Deadline, DynamoDBClient, Item, ParallelBatchWriter


class NoopWriter(ParallelBatchWriter):
    def __init__(self) -> None:
        super().__init__(cast(DynamoDBClient, None), 1)
        self.items = 0

    def put_items(self, table: str, items: Sequence[Item], deadline: Deadline) -> None:
        self.items += len(items)


class SleepyClient:
    """`batch_write_item` sleeps `latency` seconds (releasing the GIL, like a socket wait)."""

    def __init__(self, latency: float = 0.010) -> None:
        self.latency = latency
        self.calls = 0
        self._lock = threading.Lock()

    def batch_write_item(self, **_: Any) -> dict[str, Any]:
        time.sleep(self.latency)
        with self._lock:
            self.calls += 1
        return {"UnprocessedItems": {}}


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def fake_send(latency: float = 0.0, calls: list[int] | None = None) -> Callable[..., AWSResponse]:
    """A `before-send` handler: every DynamoDB call succeeds after `latency` seconds (and is
    counted in `calls`, if given: list.append is atomic)."""
    calls = calls if calls is not None else []

    def send(request: Any, **_: Any) -> AWSResponse:
        if latency:
            time.sleep(latency)
        calls.append(1)
        headers: Any = {}
        return AWSResponse(request.url, 200, headers, _Raw(b'{"UnprocessedItems":{}}'))

    return send


def record_store() -> Any:
    from shared import services

    return services.record_store()


@contextmanager
def writer(replacement: ParallelBatchWriter) -> Iterator[None]:
    """Swap the batch writer of the real record store (built by shared.services) for a while."""
    store = record_store()
    name = "_writer"  # RecordStore's writer; the bench fails loudly if it is renamed
    original = getattr(store, name)
    setattr(store, name, replacement)
    try:
        yield
    finally:
        setattr(store, name, original)


@contextmanager
def sending(client: Any, handler: Callable[..., AWSResponse]) -> Iterator[None]:
    """Answer the client's DynamoDB calls with `handler` instead of HTTP."""
    event = "before-send.dynamodb"
    client.meta.events.register(event, handler)
    try:
        yield
    finally:
        client.meta.events.unregister(event, handler)
