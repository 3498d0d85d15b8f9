"""OTLP/HTTP requests on the wire: which encoding a request uses, and its Export…ServiceRequest.

Both encodings of the spec: binary protobuf (`application/x-protobuf`) and the protobuf JSON
mapping (`application/json`), whose trace and span ids are hex rather than base64.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from shared.body import parse_json
from shared.errors import BadRequest, UnsupportedMediaType
from shared.http import OTLP_JSON, OTLP_PROTOBUF


class Encoding(Enum):
    PROTOBUF = OTLP_PROTOBUF
    JSON = OTLP_JSON


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
    if media_type == OTLP_PROTOBUF:
        return Encoding.PROTOBUF
    if media_type == OTLP_JSON:
        return Encoding.JSON
    raise UnsupportedMediaType(
        f"Unsupported Content-Type '{media_type or '(none)'}': "
        f"send {OTLP_PROTOBUF} or {OTLP_JSON} (OTLP/HTTP)"
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
    _check_json(payload, cast(Descriptor, signal.request.DESCRIPTOR), signal.name)
    message = signal.request()
    try:
        # Unknown fields are ignored, as the OTLP spec asks of receivers.
        json_format.ParseDict(payload, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, OverflowError) as exc:
        # json_format lets a few escape its own error: an integer too large for a double field.
        raise BadRequest(f"Request body is not a valid OTLP {signal.name} JSON: {exc}") from None
    return message


# Where OTLP JSON carries hex ids (the protobuf JSON mapping would read them as base64): spans,
# links, log records, exemplars.
_HEX_ID_FIELDS = frozenset({"trace_id", "span_id", "parent_span_id"})


@cache
def _message_fields(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """A message's fields that need a look before ParseDict, by both names ParseDict takes:
    messages (json_format reads a string or a list in their place as an empty message, and so
    would drop data silently) and hex ids."""
    fields: dict[str, FieldDescriptor] = {}
    for field in descriptor.fields:
        if field.message_type is not None or (
            field.name in _HEX_ID_FIELDS and field.type == FieldDescriptor.TYPE_BYTES
        ):
            fields[field.json_name] = fields[field.name] = field
    return fields


def _check_json(payload: dict[str, Any], descriptor: Descriptor, signal: str) -> None:
    """Every place OTLP JSON expects a message holds an object (a list where the field is
    repeated), else a 400 naming the field; hex ids become base64 on the way."""
    stack: list[tuple[dict[str, Any], Descriptor, str]] = [(payload, descriptor, "")]
    while stack:
        node, message, path = stack.pop()
        fields = _message_fields(message)
        for key, value in node.items():
            field = fields.get(key)
            if field is None or value is None:  # unknown, scalar, or null: ParseDict's to judge
                continue
            at = f"{path}.{key}" if path else key
            if field.message_type is None:
                if isinstance(value, str) and value:
                    node[key] = _hex_to_base64(signal, at, value)
                continue
            if not field.is_repeated:
                items = [(at, value)]
            elif isinstance(value, list):
                items = [(f"{at}[{i}]", item) for i, item in enumerate(value)]
            else:
                raise _wrong_type(signal, at, "an array", value)
            for item_at, item in items:
                if not isinstance(item, dict):
                    raise _wrong_type(signal, item_at, "an object", item)
                stack.append((item, field.message_type, item_at))


def _wrong_type(signal: str, at: str, expected: str, value: Any) -> BadRequest:
    return BadRequest(
        f"Request body is not a valid OTLP {signal} JSON: '{at}' must be {expected}, "
        f"got {_json_type(value)}"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _hex_to_base64(signal: str, at: str, value: str) -> str:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise BadRequest(
            f"Request body is not a valid OTLP {signal} JSON: '{at}' must be a hex string, "
            f"got '{value[:40]}'"
        ) from None
    return base64.b64encode(raw).decode()
