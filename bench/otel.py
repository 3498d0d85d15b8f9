"""Decoding and mapping a ~1 MB OTLP protobuf trace export (what `POST /v1/traces` does before
storage), per megabyte, against the `/v1/ingest` handler's own work per megabyte on its
1,000-event body in the same run (storage a no-op): sending traces costs about what sending
events does. opentelemetry-proto's bare parse and a parse that reads each attribute once are
printed beside it as the floor of any mapping in Python.

The body is what moda-ai's OpenAI instrumentation sends: chat spans that each resend their
conversation's whole history as `gen_ai.prompt.N.*`, plus the completion and usage.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TARGET_BYTES = 1_000_000
TURNS_PER_CONVERSATION = 8
WORDS = ("the", "order", "shipped", "yesterday", "and", "should", "arrive", "by", "friday")


@dataclass
class Result:
    body_bytes: int
    spans: int
    records: int
    runs: int
    parse_ms: list[float]
    map_ms: list[float]
    walk_ms: list[
        float
    ]  # parse + reading every attribute's key and value once: any mapping's floor
    ingest_bytes: int  # the /v1/ingest body handled in the same run
    ingest_ms: list[float]  # the ingest handler's own work on it (storage a no-op)

    @property
    def map_ms_per_mb(self) -> list[float]:
        return [ms * 1e6 / self.body_bytes for ms in self.map_ms]

    @property
    def ingest_ms_per_mb(self) -> list[float]:
        return [ms * 1e6 / self.ingest_bytes for ms in self.ingest_ms]


def _text(seed: int, words: int) -> str:
    return " ".join(WORDS[(seed + i) % len(WORDS)] for i in range(words))


def trace_body(target_bytes: int = TARGET_BYTES) -> tuple[bytes, int]:
    """A serialized ExportTraceServiceRequest of about `target_bytes`, and its span count."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: str | int) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=value))

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(kv("service.name", "bench-app"))
    scope = resource_spans.scope_spans.add()
    spans = 0
    conversation = 0
    start = 1_700_000_000_000_000_000
    while request.ByteSize() < target_bytes:
        history: list[tuple[str, str]] = [("system", "You are a support agent. " * 4)]
        for turn in range(TURNS_PER_CONVERSATION):
            history.append(("user", _text(conversation + turn, 30)))
            reply = _text(conversation * 7 + turn, 40)
            span = scope.spans.add()
            span.trace_id = (conversation * 1000 + turn).to_bytes(16, "big")
            span.span_id = (spans + 1).to_bytes(8, "big")
            span.name = "openai.chat"
            span.start_time_unix_nano = start + spans * 1_000_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + 800_000_000
            attrs = [
                kv("llm.request.type", "chat"),
                kv("gen_ai.system", "openai"),
                kv("gen_ai.request.model", "gpt-4o"),
                kv("gen_ai.response.model", "gpt-4o-2024-08-06"),
                kv("moda.conversation_id", f"conv-bench-{conversation}"),
                kv("moda.user_id", f"user-{conversation}"),
                kv("gen_ai.usage.input_tokens", 40 * len(history)),
                kv("gen_ai.usage.output_tokens", 40),
            ]
            for index, (role, content) in enumerate(history):
                attrs.append(kv(f"gen_ai.prompt.{index}.role", role))
                attrs.append(kv(f"gen_ai.prompt.{index}.content", content))
            attrs += [
                kv("gen_ai.completion.0.role", "assistant"),
                kv("gen_ai.completion.0.content", reply),
                kv("gen_ai.completion.0.finish_reason", "stop"),
            ]
            span.attributes.extend(attrs)
            history.append(("assistant", reply))
            spans += 1
        conversation += 1
    return request.SerializeToString(), spans


def _timed(call: Callable[[], Any]) -> float:
    gc.collect()
    begin = time.perf_counter()
    call()
    return (time.perf_counter() - begin) * 1000


def measure(runs: int = 15) -> Result:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from shared.otel.models import RequestFacts
    from shared.otel.protocol import TRACES, Encoding, decode
    from shared.otel.service import map_spans

    body, span_count = trace_body()
    facts = RequestFacts("bench", "bench-request", "2024-01-01T00:00:00.000Z")

    def no_links(trace_ids: list[str]) -> dict[str, str]:
        return {}

    def decode_and_map() -> int:
        return len(map_spans(decode(TRACES, body, Encoding.PROTOBUF), facts, no_links).records)

    def walk() -> None:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    for kv in span.attributes:
                        kv.key, kv.value.string_value  # noqa: B018

    from bench import stubs, throughput

    ingest = throughput.standard_request()
    handler = throughput.ingest_handler()
    parse, mapped, walked, handled = [], [], [], []
    with stubs.writer(stubs.NoopWriter()):
        records = decode_and_map()  # warm up every path (and check the mapping)
        walk()
        throughput.check(ingest.invoke(handler), ingest.events)
        for _ in range(runs):  # interleaved, so drifts in machine load hit all alike
            parse.append(_timed(lambda: ExportTraceServiceRequest.FromString(body)))
            mapped.append(_timed(decode_and_map))
            walked.append(_timed(walk))
            handled.append(_timed(lambda: ingest.invoke(handler)))
    return Result(
        len(body), span_count, records, runs, parse, mapped, walked, len(ingest.body), handled
    )
