"""OTLP/HTTP on the wire: decoding requests and encoding answers in the request's encoding.

Both encodings of the spec: binary protobuf (`application/x-protobuf`) and the protobuf JSON
mapping (`application/json`), whose trace and span ids are hex rather than base64.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pydantic_core
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from starlette.requests import Request
from starlette.responses import Response

from shared.body import parse_json
from shared.errors import BadRequest, UnsupportedMediaType
from shared.http import ErrorAnswer

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class Encoding(Enum):
    PROTOBUF = PROTOBUF
    JSON = JSON


@dataclass(frozen=True)
class Signal:
    name: str  # "traces", "metrics", "logs": the route is /v1/<name>
    request: type[Message]
    response: type[Message]

    @property
    def route(self) -> str:
        return f"/v1/{self.name}"


TRACES = Signal(
    "traces",
    trace_service_pb2.ExportTraceServiceRequest,
    trace_service_pb2.ExportTraceServiceResponse,
)
METRICS = Signal(
    "metrics",
    metrics_service_pb2.ExportMetricsServiceRequest,
    metrics_service_pb2.ExportMetricsServiceResponse,
)
LOGS = Signal(
    "logs",
    logs_service_pb2.ExportLogsServiceRequest,
    logs_service_pb2.ExportLogsServiceResponse,
)


def request_encoding(content_type: str | None) -> Encoding:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == PROTOBUF:
        return Encoding.PROTOBUF
    if media_type == JSON:
        return Encoding.JSON
    raise UnsupportedMediaType(
        f"Unsupported Content-Type '{media_type or '(none)'}': "
        f"send {PROTOBUF} or {JSON} (OTLP/HTTP)"
    )


def decode(signal: Signal, body: bytes, encoding: Encoding) -> Any:
    """The Export…ServiceRequest in `body`, or a 400 saying why it is not one."""
    if encoding is Encoding.PROTOBUF:
        try:
            return signal.request.FromString(body)
        except DecodeError as exc:
            raise BadRequest(
                f"Request body is not a valid OTLP {signal.name} protobuf: {exc}"
            ) from None
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise BadRequest(f"Request body must be a JSON object (OTLP {signal.name})")
    _hex_ids_to_base64(payload)
    message = signal.request()
    try:
        # Unknown fields are ignored, as the OTLP spec asks of receivers.
        json_format.ParseDict(payload, message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise BadRequest(f"Request body is not a valid OTLP {signal.name} JSON: {exc}") from None
    return message


# Where OTLP JSON carries hex ids (the protobuf JSON mapping would read them as base64).
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_NESTED = (
    "resourceSpans",
    "scopeSpans",
    "spans",
    "links",
    "resourceLogs",
    "scopeLogs",
    "logRecords",
)


def _hex_ids_to_base64(payload: dict[str, Any]) -> None:
    stack: list[dict[str, Any]] = [payload]
    while stack:
        node = stack.pop()
        for name in _ID_FIELDS:
            value = node.get(name)
            if isinstance(value, str) and value:
                node[name] = _hex_to_base64(name, value)
        for container in _NESTED:
            items = node.get(container)
            if isinstance(items, list):
                stack.extend(item for item in items if isinstance(item, dict))


def _hex_to_base64(name: str, value: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise BadRequest(f"'{name}' must be a hex string, got '{value[:40]}'") from None
    return base64.b64encode(raw).decode()


def encode(message: Message, encoding: Encoding) -> bytes:
    if encoding is Encoding.PROTOBUF:
        return bytes(message.SerializeToString())
    return pydantic_core.to_json(json_format.MessageToDict(message))


def answer(message: Message, encoding: Encoding, status: int = 200) -> Response:
    return Response(encode(message, encoding), status_code=status, media_type=encoding.value)


# gRPC codes for the Status body (google/rpc/code.proto), by HTTP status.
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 8, 415: 3, 429: 8, 503: 14}
_INTERNAL = 13


def error_body(request: Request | None, error: ErrorAnswer, request_id: str) -> Response:
    """OTLP/HTTP error answers carry a google.rpc.Status in the request's encoding."""
    content_type = request.headers.get("content-type") if request is not None else None
    try:
        encoding = request_encoding(content_type)
    except UnsupportedMediaType:
        encoding = Encoding.JSON
    status = status_pb2.Status(
        code=_GRPC_CODES.get(error.status, _INTERNAL),
        message=f"{error.message} (requestId {request_id})",
    )
    return Response(
        encode(status, encoding),
        status_code=error.status,
        media_type=encoding.value,
        headers=error.headers,
    )
