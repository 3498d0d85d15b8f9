"""The OTLP functions through their real handlers (Mangum + Starlette) under moto."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from functions.otel_logs.app import handler as otel_logs
from functions.otel_metrics.app import handler as otel_metrics
from functions.otel_traces.app import handler as otel_traces
from shared import services
from shared.body import MAX_JSON_DEPTH
from shared.otel.policy import MAX_MESSAGE_BYTES, MAX_SPANS
from tests.integration.test_ingest_http import stored
from tests.otel_support import (
    PROTOBUF,
    Raw,
    export_request,
    moda_chat,
    new_trace_id,
    otlp_json,
    post,
    span,
)
from tests.support import nesting_depth

pytestmark = pytest.mark.usefixtures("dynamodb")


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
    payload = otlp_json(request)  # OTLP JSON: ids are hex, not base64
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
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            "'resourceSpans[0].scopeSpans[0].spans[0].traceId' must be a hex string",
        ),
        (b'{"resourceSpans": 5}', "'resourceSpans' must be an array, got a number"),
        (b'{"resourceSpans": [""]}', "'resourceSpans[0]' must be an object, got a string"),
        (b'{"resourceSpans": [null]}', "'resourceSpans[0]' must be an object, got null"),
        (
            b'{"resourceSpans": [{"resource": "x"}]}',
            "'resourceSpans[0].resource' must be an object, got a string",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": {"a": 1}}]}]}]}',
            "'resourceSpans[0].scopeSpans[0].spans[0].attributes' must be an array, got an object",
        ),
        (
            b'{"resource_spans": [{"scope_spans": [{"spans": [{"attributes": [{"value": []}]}]}]}'
            b"]}",
            "'resource_spans[0].scope_spans[0].spans[0].attributes[0].value' must be an object",
        ),
    ],
)
def test_undecodable_json_is_400_naming_the_field(body: bytes, message: str) -> None:
    """json_format reads a string in place of a message as an empty one: the data would be
    dropped with a 200. Every place a message belongs is checked first."""
    answer = post(body, content_type="application/json")
    assert answer.status == 400
    assert message in answer.status_message().message


@pytest.mark.parametrize(
    ("handler", "path", "body", "message"),
    [
        (otel_metrics, "/v1/metrics", b'{"resourceMetrics": [""]}', "'resourceMetrics[0]'"),
        (
            otel_metrics,
            "/v1/metrics",
            b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"gauge": []}]}]}]}',
            "'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge' must be an object",
        ),
        (
            otel_logs,
            "/v1/logs",
            b'{"resourceLogs": [{"resource": 1}]}',
            "'resourceLogs[0].resource'",
        ),
        (
            otel_logs,
            "/v1/logs",
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": "text"}]}]}]}',
            "'resourceLogs[0].scopeLogs[0].logRecords[0].body' must be an object, got a string",
        ),
    ],
)
def test_metrics_and_logs_json_of_the_wrong_shape_is_400(
    handler: Any, path: str, body: bytes, message: str
) -> None:
    answer = post(body, handler=handler, path=path, content_type="application/json")
    assert answer.status == 400
    assert message in answer.status_message().message


@pytest.mark.parametrize("content_type", [PROTOBUF, "application/json"])
@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [("GET", "/v1/traces", 405, 12), ("POST", "/v1/other", 404, 5)],
)
def test_other_paths_and_methods_answer_a_status_too(
    content_type: str, method: str, path: str, status: int, code: int
) -> None:
    answer = post(b"", method=method, path=path, content_type=content_type)
    assert answer.status == status
    assert answer.status_message().code == code


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


# -- what a span stores can always be read back; a span that cannot be mapped is refused alone ---

ENCODINGS = [PROTOBUF, "application/json"]


def export_as(spans: list[Any], content_type: str) -> Raw:
    request = export_request(spans)
    if content_type == PROTOBUF:
        return post(request.SerializeToString())
    return post(json.dumps(otlp_json(request)).encode(), content_type=content_type)


def nested(levels: int) -> Any:
    value: Any = {"leaf": True}
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("content_type", ENCODINGS)
def test_the_deepest_value_accepted_is_stored_and_read_back(content_type: str) -> None:
    conv = conversation()
    deepest = json.dumps(nested(MAX_JSON_DEPTH))
    # gen_ai.input.messages holds a part's arguments 4 levels down: list, message, parts, part.
    messages = [{"role": "user", "parts": [{"type": "tool_call", "arguments": nested(60)}]}]
    answer = export_as(
        [
            span(
                {
                    "moda.conversation_id": conv,
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.call.id": "deep",
                    "gen_ai.tool.call.arguments": deepest,
                    "gen_ai.tool.call.result": json.dumps(nested(MAX_JSON_DEPTH + 1)),
                }
            ),
            moda_chat(
                conv,
                [("user", "hi")],
                "",
                start_ms=1,
                **{
                    "gen_ai.completion.0.tool_calls.0.name": "f",
                    "gen_ai.completion.0.tool_calls.0.arguments": deepest,
                },
            ),
            span({"moda.conversation_id": conv, "gen_ai.input.messages": json.dumps(messages)}),
        ],
        content_type,
    )
    assert not answer.trace_response().HasField("partial_success")
    records = stored(conv)  # 200: the records route reads every one back
    tool = next(r for r in records if r["message_source"] == "tool_call")
    assert nesting_depth(tool["tool_call_request"]) == MAX_JSON_DEPTH
    assert isinstance(tool["tool_call_response"], str)  # one level deeper: kept as the text sent
    uses = [b for r in records for b in r.get("content_blocks", []) if b["type"] == "tool_use"]
    assert sorted(nesting_depth(b["input"]) for b in uses) == [60, MAX_JSON_DEPTH]


@pytest.mark.parametrize("content_type", ENCODINGS)
def test_an_unmappable_span_is_refused_and_the_rest_of_its_batch_stored(content_type: str) -> None:
    conv = conversation()
    poison = [
        moda_chat(conv, [], "x", **{f"gen_ai.completion.0.tool_calls.{'9' * 4301}.name": "f"}),
        moda_chat(conv, [], "x", **{f"gen_ai.prompt.{'9' * 4301}.content": "x"}),
        span({"gen_ai.input.messages": json.dumps([nested(MAX_JSON_DEPTH)])}),
        span({"gen_ai.output.messages": "[" + "9" * 5000 + "]"}),
    ]
    good = moda_chat(conv, [("user", "hi")], "hello", start_ms=5)
    partial = export_as([*poison, good], content_type).trace_response().partial_success
    assert partial.rejected_spans == len(poison)
    assert f"{len(poison)} span(s) refused" in partial.error_message
    assert turns(stored(conv)) == [("user", "hi"), ("assistant", "hello")]


@pytest.mark.parametrize("handler", [otel_traces, otel_metrics, otel_logs])
def test_the_otel_functions_decode_bodies_as_the_ingest_functions_do(handler: Any) -> None:
    """Up to 5 MB of base64 per request: the SIMD decoder of shared.gateway, not Mangum's."""
    from shared.gateway import FastBase64Gateway

    assert handler.custom_handlers == [FastBase64Gateway]
