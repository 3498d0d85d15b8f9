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
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import Any

from bench import stubs
from bench.baseline import REQUEST
from bench.bodies import LambdaContext, api_event, body, ingest_events, status_of

LATENCY = 0.010
BUDGET_MS = 150.0


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
    baseline_ms: float
    handler_ms: float
    runs: int

    @property
    def ratio(self) -> float:
        return self.handler_ms / self.baseline_ms


def handler_work(request: Request, runs: int = 25) -> HandlerWork:
    handler = ingest_handler()
    noop = stubs.NoopWriter()
    with stubs.writer(noop):
        check(request.invoke(handler), request.events)  # warm-up (first call builds the wiring)
        REQUEST.validate_json(request.body)
        base: list[float] = []
        work: list[float] = []
        for _ in range(runs):
            base.append(_timed(lambda: REQUEST.validate_json(request.body)))
            work.append(_timed(lambda: request.invoke(handler)))
    return HandlerWork(len(request.body), request.events, median(base), median(work), runs)


@dataclass
class ParallelWrites:
    records: int
    batches: int
    concurrency: int
    parallel_ms: float
    sequential_ms: float
    sequential_estimate_ms: float
    botocore_ms: float
    runs: int

    @property
    def ratio(self) -> float:
        return self.parallel_ms / BUDGET_MS


def parallel_writes(request: Request, noop_ms: float, runs: int = 9) -> ParallelWrites:
    from shared import dynamo
    from shared.dynamo import ParallelBatchWriter
    from shared.settings import get_settings

    handler = ingest_handler()
    concurrency = get_settings().write_concurrency
    sleepy = stubs.SleepyClient(LATENCY)
    fake_client: Any = sleepy
    parallel = ParallelBatchWriter(fake_client, concurrency)
    sequential = ParallelBatchWriter(fake_client, 1)
    # The real botocore client (validation, JSON serialization, SigV4 signing, parsing), with
    # only the HTTP round trip replaced by the same 10 ms.
    real = dynamo.default_client()
    records = request.events
    batches = math.ceil(records / dynamo.BATCH_SIZE)
    with stubs.writer(parallel):
        check(request.invoke(handler), records)  # warm-up: starts the writer's threads
        sleepy.calls = 0
        check(request.invoke(handler), records)
        if sleepy.calls != batches:
            raise RuntimeError(f"expected {batches} BatchWriteItem calls, saw {sleepy.calls}")
    sent: list[int] = []
    with stubs.sending(real, stubs.fake_send(LATENCY, sent)):
        check(request.invoke(handler), records)  # warm-up: builds the real writer's threads
        if len(sent) != batches:
            raise RuntimeError(
                f"expected {batches} BatchWriteItem calls, botocore sent {len(sent)}"
            )
        par: list[float] = []
        boto: list[float] = []
        for _ in range(runs):
            with stubs.writer(parallel):
                par.append(_timed(lambda: request.invoke(handler)))
            boto.append(_timed(lambda: request.invoke(handler)))
    with stubs.writer(sequential):
        seq = [_timed(lambda: request.invoke(handler)) for _ in range(2)]
    return ParallelWrites(
        records=records,
        batches=batches,
        concurrency=concurrency,
        parallel_ms=median(par),
        sequential_ms=median(seq),
        sequential_estimate_ms=noop_ms + batches * LATENCY * 1000,
        botocore_ms=median(boto),
        runs=runs,
    )
