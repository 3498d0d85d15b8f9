"""Bars 2 and 3, in this process: the handler's own work on a 1,000-event ~1 MB request against
pydantic's `validate_json` of the same body, and the same request stored with 10 ms per
DynamoDB call.

Call `bench.env.apply()` before using this module (settings are read once, on first import of
a function's app).
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import ddbserver, stubs
from bench.baseline import REQUEST
from bench.bodies import LambdaContext, api_event, body, ingest_events, status_of, vogent_calls
from shared.dynamo import BATCH_SIZE, Deadline, DynamoDBClient, Item, ParallelBatchWriter

LATENCY = 0.010  # added to every DynamoDB call


def _timed(call: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def ingest_handler() -> Any:
    from functions.ingest.app import handler

    return handler


@dataclass
class Request:
    body: bytes
    event: dict[str, Any]
    events: int

    def invoke(self, handler: Any) -> dict[str, Any]:
        response: dict[str, Any] = handler(self.event, LambdaContext())
        return response


def standard_request(count: int = 1000, event_bytes: int = 1000) -> Request:
    raw = body(ingest_events(count, event_bytes))
    return Request(raw, api_event("/v1/ingest", raw), count)


def check(response: dict[str, Any], records: int) -> None:
    status, answer = status_of(response)
    if status != 200 or answer.get("count") != records:
        raise RuntimeError(f"handler answered {status}: {str(answer)[:500]}")


@dataclass
class HandlerWork:
    body_bytes: int
    events: int
    baseline_ms: list[float]
    handler_ms: list[float]


def handler_work(request: Request, runs: int = 25) -> HandlerWork:
    handler = ingest_handler()
    noop = stubs.NoopWriter()
    with stubs.writer(noop):
        check(request.invoke(handler), request.events)  # warm-up (first call builds the wiring)
        REQUEST.validate_json(request.body)
        base: list[float] = []
        work: list[float] = []
        for _ in range(runs):  # interleaved, so drifts in machine load hit both alike
            base.append(_timed(lambda: REQUEST.validate_json(request.body)))
            work.append(_timed(lambda: request.invoke(handler)))
    return HandlerWork(len(request.body), request.events, base, work)


class TimedWriter(ParallelBatchWriter):
    """The real parallel writer, timing each `put_items` (the request's storing phase)."""

    def __init__(self, client: DynamoDBClient, concurrency: int) -> None:
        super().__init__(client, concurrency)
        self.put_ms: list[float] = []

    def put_items(self, table: str, items: Sequence[Item], deadline: Deadline) -> None:
        start = time.perf_counter()
        super().put_items(table, items, deadline)
        self.put_ms.append((time.perf_counter() - start) * 1000)


@dataclass
class Stored:
    records: int
    batches: int
    invocation_ms: list[float]
    put_ms: list[float]

    @property
    def per_record_ms(self) -> list[float]:
        return [ms / self.records for ms in self.invocation_ms]


@dataclass
class ParallelWrites:
    concurrency: int
    floor_ms: float  # ceil(batches / concurrency) round trips of LATENCY each
    ingest: Stored
    vogent: Stored


def _stored(handler: Any, request: Request, records: int, writer: TimedWriter, runs: int) -> Stored:
    with stubs.writer(writer):
        check(request.invoke(handler), records)  # warm-up: starts the threads, fills the pool
        writer.put_ms.clear()
        invocation = [_timed(lambda: request.invoke(handler)) for _ in range(runs)]
    if len(writer.put_ms) != runs:
        raise RuntimeError(f"expected {runs} stores, saw {len(writer.put_ms)}")
    return Stored(records, math.ceil(records / BATCH_SIZE), invocation, list(writer.put_ms))


def parallel_writes(runs: int = 7, vogent_runs: int = 3) -> ParallelWrites:
    """The 1,000-event request, then a vogent-raw request of 1,000 calls x 20 entries, stored
    through the real botocore client (serialization, signing, HTTP, parsing) into the embedded
    DynamoDB-protocol server answering every call after 10 ms."""
    from functions.ingest_vogent_raw.app import handler as vogent_handler
    from shared import dynamo
    from shared.settings import get_settings

    settings = get_settings()
    concurrency = settings.write_concurrency
    request = standard_request()
    vogent_raw = body(vogent_calls(count=1000, records_per_call=20, call_bytes=1500))
    vogent = Request(vogent_raw, api_event("/v1/ingest/vogent-raw", vogent_raw), 1000)
    with ddbserver.running(LATENCY) as endpoint:
        client = dynamo.make_client(settings.model_copy(update={"dynamodb_endpoint": endpoint}))
        writer = TimedWriter(client, concurrency)
        ingest = _stored(ingest_handler(), request, request.events, writer, runs)
        vogent_stored = _stored(vogent_handler, vogent, 20 * 1000, writer, vogent_runs)
    floor = math.ceil(ingest.batches / concurrency) * LATENCY * 1000
    return ParallelWrites(concurrency, floor, ingest, vogent_stored)
