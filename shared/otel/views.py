"""The OTLP routes' answers, in the request's encoding. (Their error answers, google.rpc.Status,
are rendered where every error becomes a response: shared.http.otlp_error.)"""

from __future__ import annotations

import pydantic_core
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from starlette.responses import Response

from shared.otel.protocol import Encoding
from shared.otel.service import ExportOutcome


def encode(message: Message, encoding: Encoding) -> bytes:
    if encoding is Encoding.PROTOBUF:
        return bytes(message.SerializeToString())
    return pydantic_core.to_json(json_format.MessageToDict(message))


def answer(message: Message, encoding: Encoding, status: int = 200) -> Response:
    return Response(encode(message, encoding), status_code=status, media_type=encoding.value)


def traces_answer(outcome: ExportOutcome, encoding: Encoding) -> Response:
    """ExportTraceServiceResponse: `partial_success` carries the refused spans and why (the
    OTLP spec), or a note on skipped ones with rejected_spans 0; empty when all were stored."""
    response = trace_service_pb2.ExportTraceServiceResponse()
    if outcome.message:
        response.partial_success.rejected_spans = outcome.rejected
        response.partial_success.error_message = outcome.message
    return answer(response, encoding)
