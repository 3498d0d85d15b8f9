"""OTLP for tests: spans as the protobuf messages exporters send, the OTLP JSON encoding of a
request, and posting a body to an OTel function's real handler."""

from __future__ import annotations

import base64
import itertools
import json
import os
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from functions.otel_traces.app import handler as otel_traces
from tests.openapi_check import check_response
from tests.support import LambdaContext, _ensure_event_loop, api_event

PROTOBUF = "application/x-protobuf"

BASE_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
_span_ids = itertools.count(1)


def new_trace_id() -> bytes:
    return os.urandom(16)


def any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return AnyValue(
            kvlist_value=KeyValueList(
                values=[KeyValue(key=k, value=any_value(v)) for k, v in value.items()]
            )
        )
    raise TypeError(type(value))


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def span(
    attributes: dict[str, Any] | None = None,
    *,
    name: str = "chat gpt-4o",
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    parent: bytes = b"",
    start_ms: int = 0,
    duration_ms: int = 100,
    events: list[tuple[str, dict[str, Any]]] | None = None,
) -> Span:
    start = BASE_NS + start_ms * 1_000_000
    return Span(
        trace_id=trace_id or new_trace_id(),
        span_id=span_id or next(_span_ids).to_bytes(8, "big"),
        parent_span_id=parent,
        name=name,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ms * 1_000_000,
        attributes=key_values(attributes or {}),
        events=[
            Span.Event(name=event_name, time_unix_nano=start, attributes=key_values(attrs))
            for event_name, attrs in events or []
        ],
    )


def export_request(
    spans: list[Span], resource: dict[str, Any] | None = None
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans: ResourceSpans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values(resource or {"service.name": "tests"}))
    scope: ScopeSpans = resource_spans.scope_spans.add()
    scope.spans.extend(spans)
    return request


def moda_chat(
    conversation_id: str | None,
    history: list[tuple[str, str]],
    reply: str,
    *,
    start_ms: int = 0,
    **extra: Any,
) -> Span:
    """A span as moda-ai's OpenAI instrumentation emits it: the whole history as prompts."""
    attributes: dict[str, Any] = {
        "llm.request.type": "chat",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
    }
    if conversation_id is not None:
        attributes["moda.conversation_id"] = conversation_id
    for index, (role, content) in enumerate(history):
        attributes[f"gen_ai.prompt.{index}.role"] = role
        attributes[f"gen_ai.prompt.{index}.content"] = content
    attributes["gen_ai.completion.0.role"] = "assistant"
    attributes["gen_ai.completion.0.content"] = reply
    attributes["gen_ai.completion.0.finish_reason"] = "stop"
    attributes.update(extra)
    return span(attributes, name="openai.chat", start_ms=start_ms)


def otlp_json(message: Message) -> dict[str, Any]:
    """A request in the OTLP JSON encoding: the protobuf JSON mapping, with hex ids."""
    payload = json_format.MessageToDict(message)
    stack: list[Any] = [payload]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    stack.append(value)
    return payload


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes

    def trace_response(self) -> ExportTraceServiceResponse:
        assert self.status == 200, self.body
        if self.headers["content-type"].startswith(PROTOBUF):
            return ExportTraceServiceResponse.FromString(self.body)
        return json_format.Parse(self.body, ExportTraceServiceResponse())

    def status_message(self) -> Any:
        if self.headers["content-type"].startswith(PROTOBUF):
            return status_pb2.Status.FromString(self.body)
        return json_format.Parse(self.body, status_pb2.Status())


def post(
    body: bytes,
    *,
    handler: Any = otel_traces,
    path: str = "/v1/traces",
    method: str = "POST",
    content_type: str = PROTOBUF,
    tenant: str | None = "acme",
    gzip_body: bool = False,
) -> Raw:
    """The answer of an OTel function's handler, checked against the OpenAPI spec; an error is
    a google.rpc.Status quoting the X-Request-Id, in the request's encoding."""
    _ensure_event_loop()
    event = api_event(
        method,
        path,
        raw_body=body,
        gzip_body=gzip_body,
        tenant=tenant,
        headers={"Content-Type": content_type},
    )
    raw = handler(event, LambdaContext())
    data = raw.get("body") or ""
    payload = base64.b64decode(data) if raw.get("isBase64Encoded") else data.encode()
    headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    answer = Raw(raw["statusCode"], headers, payload)
    media_type = headers["content-type"].split(";")[0]
    assert media_type == (PROTOBUF if content_type == PROTOBUF else "application/json")
    parsed = json.loads(payload) if media_type == "application/json" else payload
    check_response(method, path, answer.status, headers["content-type"], parsed)
    if answer.status >= 400:
        status = answer.status_message()
        assert status.code > 0
        assert status.message.endswith(f"(requestId {headers['x-request-id']})"), status
    return answer
