"""The OTLP functions through their real handlers (Mangum + Starlette) under moto."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from google.protobuf import json_format
from google.rpc import status_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)

from functions.otel_logs.app import handler as otel_logs
from functions.otel_metrics.app import handler as otel_metrics
from functions.otel_traces.app import handler as otel_traces
from shared import services
from shared.otel.policy import MAX_MESSAGE_BYTES, MAX_SPANS
from tests.integration.test_ingest_http import stored
from tests.otel_support import export_request, moda_chat, new_trace_id, span
from tests.support import LambdaContext, _ensure_event_loop, api_event

pytestmark = pytest.mark.usefixtures("dynamodb")

PROTOBUF = "application/x-protobuf"


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
    content_type: str = PROTOBUF,
    tenant: str | None = "acme",
    gzip_body: bool = False,
) -> Raw:
    _ensure_event_loop()
    event = api_event(
        "POST",
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
    return Raw(raw["statusCode"], headers, payload)


def export(spans: list[Any], **kw: Any) -> Raw:
    return post(export_request(spans).SerializeToString(), **kw)


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def turns(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["role"], r["message"]) for r in records]


# -- encodings --------------------------------------------------------------------------------


def test_protobuf_export_is_stored_and_answered_in_protobuf() -> None:
    conv = conversation()
    answer = export([moda_chat(conv, [("user", "hi")], "hello")])
    assert answer.headers["content-type"] == PROTOBUF
    assert not answer.trace_response().HasField("partial_success")
    assert answer.headers["x-request-id"]
    assert turns(stored(conv)) == [("user", "hi"), ("assistant", "hello")]


def test_json_export_with_hex_ids_is_answered_in_json() -> None:
    conv = conversation()
    request = export_request([moda_chat(conv, [("user", "hi")], "hello")])
    payload = json_format.MessageToDict(request)
    spans_json = payload["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for item in spans_json:  # OTLP JSON: ids are hex, not base64
        item["traceId"] = base64.b64decode(item["traceId"]).hex()
        item["spanId"] = base64.b64decode(item["spanId"]).hex()
    answer = post(json.dumps(payload).encode(), content_type="application/json; charset=utf-8")
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body) == {}
    (user, _) = stored(conv)
    assert user["trace_id"] == request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()


def test_gzip_body() -> None:
    conv = conversation()
    body = export_request([moda_chat(conv, [("user", "hi")], "hello")]).SerializeToString()
    assert post(body, gzip_body=True).status == 200
    assert len(stored(conv)) == 2


def test_other_content_types_are_415_with_a_status_body() -> None:
    answer = post(b"{}", content_type="text/plain")
    assert answer.status == 415
    status = answer.status_message()
    assert status.message.startswith("Unsupported Content-Type 'text/plain'")
    assert status.code == 3


def test_undecodable_protobuf_is_400_with_a_protobuf_status() -> None:
    answer = post(b"\xff\xff\xff garbage")
    assert answer.status == 400
    assert answer.headers["content-type"] == PROTOBUF
    assert "not a valid OTLP traces protobuf" in answer.status_message().message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "hex"),
        (b'{"resourceSpans": 5}', "not a valid OTLP traces JSON"),
    ],
)
def test_undecodable_json_is_400(body: bytes, message: str) -> None:
    answer = post(body, content_type="application/json")
    assert answer.status == 400
    assert message in answer.status_message().message


def test_without_a_tenant_it_is_401() -> None:
    assert export([moda_chat("c", [("user", "hi")], "x")], tenant=None).status == 401


# -- partial success and limits ------------------------------------------------------------------


def test_refused_and_skipped_spans_are_reported_in_partial_success() -> None:
    conv = conversation()
    answer = export(
        [
            moda_chat(conv, [("user", "x" * (MAX_MESSAGE_BYTES + 1))], "big"),
            moda_chat(conv, [("user", "hi")], "hello"),
            span({"http.route": "/health"}, name="GET /health"),
        ]
    )
    partial = answer.trace_response().partial_success
    assert partial.rejected_spans == 1
    assert "1 span(s) refused" in partial.error_message
    assert "per message" in partial.error_message
    assert "1 span(s) carried no GenAI data and were skipped" in partial.error_message
    assert turns(stored(conv)) == [("user", "hi"), ("assistant", "hello")]


def test_only_skipped_spans_is_a_warning_with_zero_rejected() -> None:
    partial = export([span({"http.route": "/"})]).trace_response().partial_success
    assert partial.rejected_spans == 0
    assert "skipped" in partial.error_message


def test_too_many_spans_is_413() -> None:
    answer = export([span({}) for _ in range(MAX_SPANS + 1)])
    assert answer.status == 413
    assert f"the limit is {MAX_SPANS:,} spans per request" in answer.status_message().message


# -- exactly once, in order ---------------------------------------------------------------------


def chat_pair(conv: str) -> tuple[Any, Any]:
    first = moda_chat(conv, [("system", "Be brief"), ("user", "hi")], "Hello!")
    second = moda_chat(
        conv,
        [("system", "Be brief"), ("user", "hi"), ("assistant", "Hello!"), ("user", "hi")],
        "Hello again!",
        start_ms=2_000,
    )
    return first, second


EXPECTED = [
    ("system", "Be brief"),
    ("user", "hi"),
    ("assistant", "Hello!"),
    ("user", "hi"),
    ("assistant", "Hello again!"),
]


def test_history_resent_across_requests_is_stored_once_and_keeps_usage() -> None:
    conv = conversation()
    first, second = chat_pair(conv)
    export([first])
    export([second])
    records = stored(conv)
    assert turns(records) == EXPECTED
    assert records[2]["output_tokens"] == 5  # not overwritten by the history copy


def test_spans_arriving_out_of_order_still_read_back_in_order() -> None:
    conv = conversation()
    first, second = chat_pair(conv)
    export([second])
    export([first])
    records = stored(conv)
    assert turns(records) == EXPECTED
    assert records[2]["output_tokens"] == 5  # the completion form replaced the history copy


def test_an_exporter_retry_overwrites() -> None:
    conv = conversation()
    first, second = chat_pair(conv)
    body = export_request([first, second]).SerializeToString()
    post(body)
    before = stored(conv)
    post(body)
    after = stored(conv)
    # The same records in the same places; only the request id and the time received of the
    # rewritten ones are new.
    for record in before + after:
        del record["request_id"], record["received_at"]
    assert after == before
    assert turns(before) == EXPECTED


def test_vapi_trace_split_over_two_requests() -> None:
    trace, root_id, conv = new_trace_id(), b"\x00" * 7 + b"\x09", conversation()
    root = span(
        {"llm.vendor": "vapi", "moda.conversation_id": conv, "moda.user_id": "+15550100"},
        name="vapi.call",
        trace_id=trace,
        span_id=root_id,
    )
    turn = span(
        {
            "llm.request.type": "chat",
            "llm.prompts.0.role": "user",
            "llm.prompts.0.content": "book a table",
            "llm.completions.0.role": "assistant",
            "llm.completions.0.content": "For how many?",
        },
        name="vapi.turn.0",
        trace_id=trace,
        parent=root_id,
        start_ms=10,
    )
    export([root])
    export([turn])
    records = stored(conv)
    assert [r["message_source"] for r in records] == ["call", "chat", "chat"]
    assert turns(records[1:]) == [("user", "book a table"), ("assistant", "For how many?")]


def test_children_exported_before_their_root_move_to_its_conversation() -> None:
    """A simple (unbatched) span processor exports each span as it ends: children first."""
    trace, root_id, conv = new_trace_id(), b"\x00" * 7 + b"\x0a", conversation()
    turn = span(
        {
            "llm.prompts.0.role": "user",
            "llm.prompts.0.content": "book a table",
            "llm.completions.0.role": "assistant",
            "llm.completions.0.content": "For how many?",
        },
        name="vapi.turn.0",
        trace_id=trace,
        parent=root_id,
        start_ms=10,
    )
    tool = span(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "book",
            "gen_ai.tool.call.id": "t1",
        },
        trace_id=trace,
        parent=root_id,
        start_ms=200,
    )
    root = span({"moda.conversation_id": conv}, name="vapi.call", trace_id=trace, span_id=root_id)
    export([turn])
    export([tool])
    assert len(stored(trace.hex())) == 3  # no conversation known yet: kept under the trace id
    export([root])
    records = stored(conv)
    assert [r["message_source"] for r in records] == ["call", "chat", "chat", "tool_call"]
    assert {r["conversation_id"] for r in records} == {conv}
    assert stored(trace.hex()) == []
    # An exporter's retry of a child, once the root is known, overwrites the moved record.
    export([turn])
    export([tool])
    assert [r["id"] for r in stored(conv)] == [r["id"] for r in records]


def test_history_of_agent_traces_exported_child_first_is_kept_once() -> None:
    """Each user turn is a trace: an agent root naming the conversation, a chat child resending
    the history. Exported child first, trace after trace."""
    conv = conversation()
    turns_sent = [
        ([("user", "hi")], "Hello!"),
        ([("user", "hi"), ("assistant", "Hello!"), ("user", "bye")], "Bye!"),
    ]
    for index, (history, reply) in enumerate(turns_sent):
        trace, root_id = new_trace_id(), (100 + index).to_bytes(8, "big")
        attributes: dict[str, Any] = {
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": reply,
        }
        for position, (role, content) in enumerate(history):
            attributes[f"gen_ai.prompt.{position}.role"] = role
            attributes[f"gen_ai.prompt.{position}.content"] = content
        start = 1000 * index
        export([span(attributes, trace_id=trace, parent=root_id, start_ms=start + 1)])
        export(
            [
                span(
                    {"gen_ai.conversation.id": conv},
                    name="invoke_agent",
                    trace_id=trace,
                    span_id=root_id,
                    start_ms=start,
                    duration_ms=500,
                )
            ]
        )
    assert turns(stored(conv)) == [
        ("user", "hi"),
        ("assistant", "Hello!"),
        ("user", "bye"),
        ("assistant", "Bye!"),
    ]


# -- metrics and logs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "path", "request_type"),
    [
        (otel_metrics, "/v1/metrics", ExportMetricsServiceRequest),
        (otel_logs, "/v1/logs", ExportLogsServiceRequest),
    ],
)
def test_metrics_and_logs_are_accepted(handler: Any, path: str, request_type: Any) -> None:
    ok = post(request_type().SerializeToString(), handler=handler, path=path)
    assert ok.status == 200
    assert ok.headers["content-type"] == PROTOBUF
    assert post(b"{}", handler=handler, path=path, content_type="application/json").body == b"{}"
    assert post(b"\xff\x01", handler=handler, path=path).status == 400


# -- storage faults ------------------------------------------------------------------------------


class ThrottledClient:
    """Every DynamoDB call is throttled."""

    def __getattr__(self, name: str) -> Any:
        def throttled(**_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, name
            )

        return throttled


@pytest.fixture
def throttled_storage(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from shared.dynamo import ParallelBatchWriter
    from shared.ingest.store import RecordStore
    from shared.otel.service import OtelService
    from shared.otel.store import TraceMap

    client: Any = ThrottledClient()
    writer = ParallelBatchWriter(client, 2)
    service = OtelService(RecordStore(client, "t", writer), TraceMap(client, "t", writer))
    monkeypatch.setattr(services, "otel_service", lambda: service)
    monkeypatch.setenv("PARLEY_STORAGE_DEADLINE_SECONDS", "0.2")
    services.get_settings.cache_clear()
    yield
    monkeypatch.delenv("PARLEY_STORAGE_DEADLINE_SECONDS")
    services.get_settings.cache_clear()


@pytest.mark.usefixtures("throttled_storage")
def test_throttled_storage_is_a_retryable_503_with_retry_after() -> None:
    answer = export([moda_chat("c", [("user", "hi")], "hello")])
    # 503 is retried by every OTLP/HTTP exporter (older ones retry 5xx and 408, newer 429/502-504).
    assert answer.status == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.status_message().code == 14  # UNAVAILABLE


# -- every span is accounted for, end to end -------------------------------------------------------


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(["chat", "plain", "oversized"]), min_size=1, max_size=8))
def test_rejected_plus_accepted_equals_sent_and_accepted_spans_are_stored(
    kinds: list[str],
) -> None:
    conv = conversation()
    spans = []
    for index, kind in enumerate(kinds):
        if kind == "chat":
            spans.append(moda_chat(conv, [("user", f"q{index}")], f"a{index}", start_ms=index))
        elif kind == "plain":
            spans.append(span({"http.route": "/"}))
        else:
            spans.append(moda_chat(conv, [("user", "x" * (MAX_MESSAGE_BYTES + 1))], "a"))
    partial = export(spans).trace_response().partial_success
    assert partial.rejected_spans == kinds.count("oversized")
    # Each stored span's two messages are there (the histories differ, so nothing is shared).
    assert len(stored(conv, limit="1000")) == 2 * kinds.count("chat")


# -- hostile bodies are answered, never a 500 ----------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "resourceSpans",
                    "scopeSpans",
                    "spans",
                    "traceId",
                    "spanId",
                    "attributes",
                    "key",
                    "value",
                    "stringValue",
                    "name",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(JSON_VALUES)
def test_any_json_is_answered_with_200_or_400(payload: Any) -> None:
    answer = post(json.dumps(payload).encode(), content_type="application/json")
    assert answer.status in (200, 400), answer.body


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_answered_with_200_or_400(body: bytes) -> None:
    assert post(body).status in (200, 400)
