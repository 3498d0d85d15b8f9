"""The OTLP routes never answer 5xx for what they are sent: /v1/traces (protobuf and JSON),
/v1/metrics and /v1/logs fed hostile spans and bodies. A hostile span is refused alone
(partialSuccess), a body that is not OTLP is a 400, and what a 200 stored reads back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from functions.otel_logs.app import handler as otel_logs
from functions.otel_metrics.app import handler as otel_metrics
from shared.body import MAX_JSON_DEPTH
from shared.otel.service import UNMAPPABLE
from tests.integration.test_ingest_http import stored
from tests.integration.test_no_500 import NO_500, _paths, json_values
from tests.otel_support import (
    PROTOBUF,
    Raw,
    export_request,
    key_values,
    moda_chat,
    otlp_json,
    post,
    span,
)

pytestmark = pytest.mark.usefixtures("dynamodb")


# -- OTLP: /v1/traces (protobuf and JSON), /v1/metrics, /v1/logs -------------------------------
# A hostile span is refused alone (partialSuccess), a body that is not OTLP is a 400, and what a
# 200 stored reads back; every error is the routes' google.rpc.Status (checked by `post`).

FLAT_PREFIXES = ["gen_ai.prompt", "gen_ai.completion", "llm.prompts", "llm.completions"]
FLAT_FIELDS = ["role", "content", "finish_reason", "tool_call_id", "tool_calls.0.arguments"]
index_texts = st.one_of(
    st.integers(0, 1100).map(str),
    st.integers(min_value=10**9, max_value=10**40).map(str),
    st.sampled_from(["9" * 4301, "-1", "x", "", "0" * 30 + "3", "\u0661", "1e3", " 1"]),
)
attribute_keys = st.one_of(
    st.sampled_from(
        [
            "moda.conversation_id",
            "session.id",
            "moda.user_id",
            "gen_ai.input.messages",
            "gen_ai.output.messages",
            "gen_ai.system_instructions",
            "gen_ai.operation.name",
            "gen_ai.tool.call.id",
            "gen_ai.tool.call.arguments",
            "gen_ai.tool.call.result",
            "gen_ai.usage.input_tokens",
            "deployment.environment",
            "vapi.call.duration",
            "vapi.analysis.summary",
            "gen_ai.response.model",
        ]
    ),
    st.builds(
        "{}.{}.{}".format, st.sampled_from(FLAT_PREFIXES), index_texts, st.sampled_from(FLAT_FIELDS)
    ),
    st.builds(
        "gen_ai.completion.0.tool_calls.{}.{}".format,
        index_texts,
        st.sampled_from(["id", "name", "arguments"]),
    ),
    st.text(max_size=12),
)


def _nested_text(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


json_texts = st.one_of(
    json_values.map(json.dumps),
    st.integers(MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH + 2).map(_nested_text),
    st.sampled_from(
        [
            _nested_text(250),
            '{"n": 1e400}',
            "[NaN]",
            "[" + "9" * 5000 + "]",
            '[{"role": "user", "parts": [{"type": "tool_call", "arguments": {"a": [1e400]}}]}]',
            '[{"role": "user", "parts": [{"type": "tool_call_response", "id": 1e30}]}]',
            '[{"role": {"x": 1}, "parts": [{"type": [], "content": 5}]}]',
        ]
    ),
)


def _storable(value: Any) -> Any:
    """A JSON value as an OTLP AnyValue can hold it: integers past 64 bits become text."""
    if isinstance(value, bool) or value is None:
        return value if value is not None else ""
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    return value


attribute_values = st.one_of(
    json_values.map(_storable),
    json_texts,
    st.floats(),  # NaN and the infinities included
    st.binary(max_size=8),
)
span_times = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 2**63, 2**64 - 1]))


@st.composite
def hostile_spans(draw: st.DrawFn, conversation: str) -> Any:
    attributes = draw(st.dictionaries(attribute_keys, attribute_values, max_size=6))
    if draw(st.booleans()):
        attributes["moda.conversation_id"] = conversation
    name = draw(
        st.sampled_from(["chat", "execute_tool x", "vapi.call", "vapi.turn.1", "vapi.tool.t"])
        | st.text(max_size=30)
    )
    events = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["gen_ai.client.inference.operation.details", "other"]),
                st.dictionaries(attribute_keys, attribute_values, max_size=3),
            ),
            max_size=2,
        )
    )
    hostile = span(attributes, name=name, events=events)
    if draw(st.booleans()):
        hostile.trace_id = draw(st.binary(max_size=20))
        hostile.span_id = draw(st.binary(max_size=10))
    hostile.start_time_unix_nano = draw(span_times)
    hostile.end_time_unix_nano = draw(span_times)
    return hostile


@st.composite
def mutated_json(draw: st.DrawFn, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The payload with, maybe, one place replaced by any JSON value; and whether it was."""
    paths = _paths(payload)
    if not draw(st.booleans()):
        return payload, False
    *parents, last = draw(st.sampled_from(paths))
    node: Any = payload
    for step in parents:
        node = node[step]
    node[last] = draw(json_values)
    return payload, True


def assert_otlp_answer(answer: Raw) -> None:
    assert answer.status < 500 or answer.status == 503, answer.body
    assert answer.status in (200, 400, 413), answer.body


@NO_500
@given(data=st.data(), as_json=st.booleans())
def test_no_span_makes_the_traces_route_answer_500(data: st.DataObject, as_json: bool) -> None:
    hostile_conversation = f"fuzz-{uuid.uuid4().hex[:12]}"
    good_conversation = f"fuzz-{uuid.uuid4().hex[:12]}"
    spans = data.draw(st.lists(hostile_spans(hostile_conversation), min_size=1, max_size=4))
    good = moda_chat(good_conversation, [("user", "hi")], "hello")
    request = export_request([*spans, good])
    mutated = False
    if as_json:
        payload, mutated = data.draw(mutated_json(otlp_json(request)))
        answer = post(json.dumps(payload).encode(), content_type="application/json")
    else:
        answer = post(request.SerializeToString())
    assert_otlp_answer(answer)
    if answer.status != 200:
        return
    # Every refusal is one the mapping words, never its last-resort "could not be mapped".
    assert UNMAPPABLE not in answer.trace_response().partial_success.error_message
    # What was stored reads back: the hostile spans' conversation, and the trace ids standing
    # in for the conversation of those that name none.
    stored(hostile_conversation)
    for hostile in spans:
        if len(hostile.trace_id) == 16:
            stored(hostile.trace_id.hex())
    if not mutated:
        assert turns_of(stored(good_conversation)) == [("user", "hi"), ("assistant", "hello")]


def turns_of(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["role"], r["message"]) for r in records]


def _metrics_request() -> Any:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "gen_ai.client.token.usage"
    point = metric.gauge.data_points.add(as_int=5, time_unix_nano=1)
    point.attributes.extend(key_values({"gen_ai.system": "openai"}))
    point.exemplars.add(as_double=1.5, span_id=b"\x01" * 8, trace_id=b"\x02" * 16)
    return request


def _logs_request() -> Any:
    request = ExportLogsServiceRequest()
    record = request.resource_logs.add().scope_logs.add().log_records.add()
    record.body.string_value = "hello"
    record.trace_id, record.span_id = b"\x02" * 16, b"\x01" * 8
    record.attributes.extend(key_values({"event.name": "gen_ai.choice"}))
    return request


@pytest.mark.parametrize(
    ("path", "handler", "request_of"),
    [
        ("/v1/metrics", otel_metrics, _metrics_request),
        ("/v1/logs", otel_logs, _logs_request),
    ],
)
@NO_500
@given(data=st.data())
def test_no_body_makes_the_metrics_or_logs_route_answer_500(
    path: str, handler: Any, request_of: Any, data: st.DataObject
) -> None:
    request = request_of()
    kind = data.draw(st.sampled_from(["protobuf", "bytes", "json", "any json"]))
    if kind == "protobuf":
        answer = post(request.SerializeToString(), handler=handler, path=path)
        assert answer.status == 200
        return
    if kind == "bytes":
        body, content_type = data.draw(st.binary(max_size=200)), PROTOBUF
    elif kind == "json":
        payload, _ = data.draw(mutated_json(otlp_json(request)))
        body, content_type = json.dumps(payload).encode(), "application/json"
    else:
        body, content_type = json.dumps(data.draw(json_values)).encode(), "application/json"
    assert_otlp_answer(post(body, handler=handler, path=path, content_type=content_type))


@NO_500
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_no_body_makes_the_traces_route_answer_500(body: bytes) -> None:
    for content_type in (PROTOBUF, "application/json"):
        assert_otlp_answer(post(body, content_type=content_type))
