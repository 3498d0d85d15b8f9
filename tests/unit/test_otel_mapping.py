"""Mapping OTLP spans to records, one attribute family at a time (no storage)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.otel.models import RequestFacts
from shared.otel.policy import MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_SPAN, MAX_SPANS
from shared.otel.service import MappedBatch, map_spans
from tests.otel_support import export_request, moda_chat, new_trace_id, span

FACTS = RequestFacts("acme", "req-1", "2024-01-01T00:00:00.000Z")


def mapped(spans: list[Any], lookup: dict[str, str] | None = None, **resource: Any) -> MappedBatch:
    request = export_request(spans, resource or None)
    return map_spans(
        request,
        FACTS,
        lambda trace_ids: {t: lookup[t] for t in trace_ids if lookup and t in lookup},
    )


def records(batch: MappedBatch) -> list[dict[str, Any]]:
    items = sorted(batch.records.values(), key=lambda m: m.order)
    return [m.record for m in items]


def messages(batch: MappedBatch) -> list[tuple[str, str]]:
    return [(r["role"], r["message"]) for r in records(batch)]


# -- Moda SDK ---------------------------------------------------------------------------------


def test_moda_span_maps_history_completion_and_common_fields() -> None:
    batch = mapped(
        [
            moda_chat(
                "conv-1",
                [("system", "Be brief"), ("user", "hi")],
                "hello",
                **{"moda.user_id": "user-9"},
            )
        ],
        **{"service.name": "shop", "deployment.environment": "staging"},
    )
    assert messages(batch) == [("system", "Be brief"), ("user", "hi"), ("assistant", "hello")]
    reply = records(batch)[-1]
    assert reply["conversation_id"] == "conv-1"
    assert reply["user_id"] == "user-9"
    assert reply["model"] == "gpt-4o-2024-08-06"  # the response model: what actually ran
    assert reply["provider"] == "openai"
    assert (reply["input_tokens"], reply["output_tokens"]) == (10, 5)
    assert reply["environment"] == "staging"
    assert reply["metadata"]["service.name"] == "shop"
    assert reply["metadata"]["finish_reason"] == "stop"
    assert reply["message_source"] == "chat"
    assert len(reply["trace_id"]) == 32
    assert "input_tokens" not in records(batch)[0]  # usage belongs to the completion
    assert batch.links == {reply["trace_id"]: "conv-1"}


def test_history_resent_by_the_next_call_is_kept_once_and_a_repeated_turn_twice() -> None:
    first = moda_chat("c", [("user", "yes")], "Sure?")
    second = moda_chat(
        "c", [("user", "yes"), ("assistant", "Sure?"), ("user", "yes")], "Done", start_ms=500
    )
    batch = mapped([first, second])
    assert messages(batch) == [
        ("user", "yes"),
        ("assistant", "Sure?"),
        ("user", "yes"),  # the user really said it again: a later position
        ("assistant", "Done"),
    ]
    # The assistant turn is kept in its completion form, with its usage.
    assert records(batch)[1]["output_tokens"] == 5
    assert batch.stored == 2


def test_moda_tool_calls_and_tool_results() -> None:
    attributes = {
        "moda.conversation_id": "c",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "weather?",
        "gen_ai.prompt.1.role": "assistant",
        "gen_ai.prompt.1.tool_calls.0.id": "call_1",
        "gen_ai.prompt.1.tool_calls.0.name": "get_weather",
        "gen_ai.prompt.1.tool_calls.0.arguments": '{"city": "Paris"}',
        "gen_ai.prompt.2.role": "tool",
        "gen_ai.prompt.2.tool_call_id": "call_1",
        "gen_ai.prompt.2.content": "sunny",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "It is sunny",
    }
    result = records(mapped([span(attributes)]))
    call = result[1]
    assert call["has_tool_use"] is True
    assert call["content_blocks"] == [
        {
            "type": "tool_use",
            "tool_name": "get_weather",
            "tool_use_id": "call_1",
            "input": {"city": "Paris"},
        }
    ]
    assert result[2]["role"] == "tool"
    assert result[2]["content_blocks"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"}
    ]


def test_every_record_keeps_its_spans_place_start_and_duration() -> None:
    trace = new_trace_id()
    parent_id = b"\x00" * 7 + b"\x09"
    child = moda_chat("conv-t", [("user", "hi")], "hello", start_ms=250)
    child.trace_id, child.parent_span_id = trace, parent_id
    child.end_time_unix_nano = child.start_time_unix_nano + 1_234_567  # 1.234567 ms
    root = moda_chat("conv-t", [("user", "again")], "ok")
    root.trace_id = trace

    by_span = {r["metadata"]["otel.span_id"]: r["metadata"] for r in records(mapped([child, root]))}

    child_meta = by_span[child.span_id.hex()]
    assert child_meta["otel.parent_span_id"] == parent_id.hex()
    assert child_meta["otel.duration_ms"] == 1.235  # to the microsecond
    assert child_meta["otel.start_time"] == "2023-11-14T22:13:20.250Z"
    root_meta = by_span[root.span_id.hex()]
    assert "otel.parent_span_id" not in root_meta  # a root span has none
    assert root_meta["otel.duration_ms"] == 100.0


# -- Vapi flow ----------------------------------------------------------------------------------


def vapi_spans(trace: bytes) -> tuple[Any, list[Any]]:
    root_id = b"\x00" * 7 + b"\x01"
    root = span(
        {
            "llm.vendor": "vapi",
            "moda.conversation_id": "call-42",
            "vapi.call.duration": 61.5,
            "vapi.analysis.summary": "Booked a table",
        },
        name="vapi.call",
        trace_id=trace,
        span_id=root_id,
        duration_ms=60_000,
    )
    turns = [
        span(
            {
                "llm.request.type": "chat",
                "llm.prompts.0.role": "user",
                "llm.prompts.0.content": "yes",
                "llm.completions.0.role": "assistant",
                "llm.completions.0.content": f"answer {i}",
            },
            name=f"vapi.turn.{i}",
            trace_id=trace,
            parent=root_id,
            start_ms=1000 * (i + 1),
        )
        for i in range(2)
    ]
    return root, turns


def test_vapi_turns_inherit_the_conversation_of_their_root_in_the_same_request() -> None:
    root, turns = vapi_spans(new_trace_id())
    result = records(mapped([*turns, root]))
    assert {r["conversation_id"] for r in result} == {"call-42"}
    # The same words in two turns are two records: a voice turn carries only its own messages.
    assert [(r["message_source"], r.get("role"), r["message"]) for r in result] == [
        ("call", None, "Booked a table"),
        ("chat", "user", "yes"),
        ("chat", "assistant", "answer 0"),
        ("chat", "user", "yes"),
        ("chat", "assistant", "answer 1"),
    ]
    call = result[0]
    assert call["duration"] == 61.5
    assert call["metadata"]["vapi.call.duration"] == 61.5


def test_turns_of_a_trace_named_in_an_earlier_request_use_the_stored_link() -> None:
    trace = new_trace_id()
    _, turns = vapi_spans(trace)
    batch = mapped(turns, lookup={trace.hex(): "call-42"})
    assert {r["conversation_id"] for r in records(batch)} == {"call-42"}
    assert batch.links == {}


def test_a_child_before_its_root_is_stored_under_the_trace_id() -> None:
    trace = new_trace_id()
    _, turns = vapi_spans(trace)
    batch = mapped(turns)
    assert {r["conversation_id"] for r in records(batch)} == {trace.hex()}
    assert batch.orphans == {trace.hex()}


def test_a_root_naming_the_conversation_of_stored_orphans_adopts_them() -> None:
    trace = new_trace_id()
    root, _ = vapi_spans(trace)
    assert mapped([root], lookup={trace.hex(): trace.hex()}).adopted == {trace.hex(): "call-42"}
    assert mapped([root], lookup={trace.hex(): "call-42"}).adopted == {}
    assert mapped([root]).adopted == {}


# -- current GenAI semantic conventions ----------------------------------------------------------

INPUT = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "parts": [
            {"type": "tool_call", "id": "c1", "name": "weather", "arguments": {"city": "Paris"}}
        ],
    },
    {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "sunny"}]},
]
OUTPUT = [
    {"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}], "finish_reason": "stop"}
]
SYSTEM = [{"type": "text", "content": "You are a weather bot"}]


def semconv(**extra: Any) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 2,
        **extra,
    }


@pytest.mark.parametrize("as_json_text", [True, False])
def test_semconv_messages_as_json_text_or_structured_values(as_json_text: bool) -> None:
    encode = json.dumps if as_json_text else (lambda v: v)
    attributes = semconv(
        **{
            "gen_ai.conversation.id": "conv-s",
            "gen_ai.input.messages": encode(INPUT),
            "gen_ai.output.messages": encode(OUTPUT),
            "gen_ai.system_instructions": encode(SYSTEM),
        }
    )
    result = records(mapped([span(attributes)]))
    assert [(r["role"], r["message"]) for r in result] == [
        ("system", "You are a weather bot"),
        ("user", "Weather in Paris?"),
        ("assistant", ""),
        ("tool", ""),
        ("assistant", "Sunny."),
    ]
    assert result[2]["content_blocks"] == [
        {
            "type": "tool_use",
            "tool_name": "weather",
            "tool_use_id": "c1",
            "input": {"city": "Paris"},
        }
    ]
    assert result[3]["content_blocks"] == [
        {"type": "tool_result", "tool_use_id": "c1", "content": "sunny"}
    ]
    assert result[-1]["provider"] == "openai"
    assert result[-1]["model"] == "gpt-4o"
    assert result[-1]["output_tokens"] == 2
    assert {r["conversation_id"] for r in result} == {"conv-s"}


def test_semconv_event_form() -> None:
    details = {
        "gen_ai.input.messages": json.dumps(INPUT[:1]),
        "gen_ai.output.messages": json.dumps(OUTPUT),
    }
    batch = mapped(
        [
            span(
                semconv(**{"session.id": "sess-1"}),
                events=[("gen_ai.client.inference.operation.details", details)],
            )
        ]
    )
    assert messages(batch) == [("user", "Weather in Paris?"), ("assistant", "Sunny.")]
    assert {r["conversation_id"] for r in records(batch)} == {"sess-1"}


def test_conversation_id_precedence_then_trace_id() -> None:
    both = semconv(
        **{
            "gen_ai.conversation.id": "gen",
            "session.id": "sess",
            "gen_ai.input.messages": json.dumps(INPUT[:1]),
        }
    )
    assert records(mapped([span(both)]))[0]["conversation_id"] == "gen"
    trace = new_trace_id()
    alone = semconv(**{"gen_ai.input.messages": json.dumps(INPUT[:1])})
    assert records(mapped([span(alone, trace_id=trace)]))[0]["conversation_id"] == trace.hex()


def test_execute_tool_span_is_a_tool_call_record() -> None:
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.conversation.id": "conv-t",
        "gen_ai.tool.name": "weather",
        "gen_ai.tool.call.id": "c1",
        "gen_ai.tool.call.arguments": '{"city": "Paris"}',
        "gen_ai.tool.call.result": '{"sky": "sunny"}',
    }
    (record,) = records(mapped([span(attributes, name="execute_tool weather")]))
    assert record["message_source"] == "tool_call"
    assert record["tool_name"] == "weather"
    assert record["tool_call_request"] == {"city": "Paris"}
    assert record["tool_call_response"] == {"sky": "sunny"}
    assert record["has_tool_use"] is True


# -- common attributes, skipping, limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "environment", "kept"),
    [("prod", "production", None), ("dev", "development", None), ("qa", "production", "qa")],
)
def test_environment_aliases(sent: str, environment: str, kept: str | None) -> None:
    batch = mapped(
        [moda_chat("c", [("user", "hi")], "ok")], **{"deployment.environment.name": sent}
    )
    record = records(batch)[0]
    assert record["environment"] == environment
    assert record["metadata"].get("deployment.environment") == kept


def test_user_id_from_semconv_attributes() -> None:
    batch = mapped([moda_chat("c", [("user", "hi")], "ok", **{"enduser.id": "end-1"})])
    assert records(batch)[0]["user_id"] == "end-1"


def test_spans_without_genai_data_are_counted_and_skipped() -> None:
    batch = mapped(
        [span({"http.method": "GET"}, name="GET /"), moda_chat("c", [("user", "hi")], "ok")]
    )
    assert (batch.sent, batch.stored, batch.skipped, batch.rejected) == (2, 1, 1, [])


def test_an_oversized_message_refuses_its_span_only() -> None:
    big = moda_chat("c", [("user", "x" * (MAX_MESSAGE_BYTES + 1))], "ok")
    batch = mapped([big, moda_chat("d", [("user", "hi")], "ok")])
    assert batch.stored == 1
    (reason,) = batch.rejected
    assert "102,401 bytes; the limit is 102,400 bytes (100 KB) per message" in reason


def test_history_of_a_refused_span_is_still_stored_from_a_later_span() -> None:
    refused = moda_chat("c", [("user", "hi")], "x" * (MAX_MESSAGE_BYTES + 1))
    batch = mapped([refused, moda_chat("c", [("user", "hi")], "ok", start_ms=10)])
    assert len(batch.rejected) == 1
    assert messages(batch) == [("user", "hi"), ("assistant", "ok")]


def test_too_many_messages_in_a_span() -> None:
    history = [("user", str(i)) for i in range(MAX_MESSAGES_PER_SPAN)]
    (reason,) = mapped([moda_chat("c", history, "ok")]).rejected
    assert f"the limit is {MAX_MESSAGES_PER_SPAN:,} messages per span" in reason


def test_a_conversation_id_over_200_characters_refuses_the_span() -> None:
    (reason,) = mapped([moda_chat("c" * 201, [("user", "hi")], "ok")]).rejected
    assert "moda.conversation_id is 201 characters; the limit is 200 characters" in reason


def test_too_many_spans_is_refused_whole() -> None:
    from shared.errors import PayloadTooLarge

    with pytest.raises(PayloadTooLarge, match=f"the limit is {MAX_SPANS:,} spans per request"):
        mapped([span({}) for _ in range(MAX_SPANS + 1)])


# -- every span is accounted for ------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SPAN_KINDS = st.sampled_from(["chat", "semconv", "tool", "plain", "oversized", "bad_id", "many"])


def make_span(kind: str, text: str) -> Any:
    if kind == "chat":
        return moda_chat("c", [("user", text)], text)
    if kind == "semconv":
        return span(
            semconv(
                **{
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": text}]}]
                    )
                }
            )
        )
    if kind == "tool":
        return span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": text})
    if kind == "plain":
        return span({"http.route": text})
    if kind == "oversized":
        return moda_chat("c", [("user", "x" * (MAX_MESSAGE_BYTES + 1))], text)
    if kind == "bad_id":
        return moda_chat("c" * 300, [("user", text)], text)
    return moda_chat("c", [("user", text)] * (MAX_MESSAGES_PER_SPAN + 1), text)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(SPAN_KINDS, st.text(max_size=20)), min_size=1, max_size=12))
def test_rejected_plus_stored_plus_skipped_equals_sent(kinds: list[tuple[str, str]]) -> None:
    batch = mapped([make_span(kind, text) for kind, text in kinds])
    assert len(batch.rejected) + batch.stored + batch.skipped == batch.sent == len(kinds)
    refused = sum(kind in ("oversized", "bad_id", "many") for kind, _ in kinds)
    assert len(batch.rejected) == refused
    assert batch.skipped == sum(kind == "plain" for kind, _ in kinds)
    sources = [m.record["message_source"] for m in batch.records.values()]
    # A tool span without a call id is its own record; chat messages several spans share are
    # kept once, so they number at most two per span.
    assert sources.count("tool_call") == sum(kind == "tool" for kind, _ in kinds)
    assert sources.count("chat") <= 2 * sum(kind in ("chat", "semconv") for kind, _ in kinds)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not json", "gen_ai.input.messages is not valid JSON"),
        ('{"role": "user"}', "gen_ai.input.messages must be an array of messages"),
        ('["text"]', "gen_ai.input.messages[0] must be an object with role and parts"),
        ('[{"role": "user", "parts": "hi"}]', "gen_ai.input.messages[0].parts must be an array"),
    ],
)
def test_malformed_semconv_messages_refuse_the_span(value: str, reason: str) -> None:
    (refused,) = mapped([span(semconv(**{"gen_ai.input.messages": value}))]).rejected
    assert reason in refused


def test_an_integer_conversation_id_is_a_string_and_a_boolean_one_is_refused() -> None:
    assert (
        records(mapped([moda_chat(None, [("user", "hi")], "ok", **{"session.id": 42})]))[0][
            "conversation_id"
        ]
        == "42"
    )
    (refused,) = mapped([moda_chat(None, [("user", "hi")], "ok", **{"session.id": True})]).rejected
    assert "session.id must be a string" in refused


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        ({"trace_id": b""}, "trace_id must be 16 bytes"),
        ({"trace_id": b"\x00" * 16}, "trace_id must be 16 bytes"),
        ({"span_id": b"\x01" * 4}, "span_id must be 8 bytes"),
    ],
)
def test_spans_without_valid_ids_are_refused(ids: dict[str, bytes], reason: str) -> None:
    chat = moda_chat("c", [("user", "hi")], "ok")
    for name, value in ids.items():
        setattr(chat, name, value)
    (refused,) = mapped([chat]).rejected
    assert reason in refused


ATTRIBUTE_KEYS = st.sampled_from(
    [
        "moda.conversation_id",
        "gen_ai.conversation.id",
        "session.id",
        "moda.user_id",
        "gen_ai.prompt.0.role",
        "gen_ai.prompt.0.content",
        "gen_ai.prompt.1.tool_calls.0.name",
        "gen_ai.prompt.1.tool_calls.0.arguments",
        "gen_ai.prompt.2.tool_call_id",
        "gen_ai.completion.0.content",
        "gen_ai.completion.0.finish_reason",
        "llm.prompts.0.content",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.operation.name",
        "gen_ai.tool.call.id",
        "gen_ai.tool.call.arguments",
        "gen_ai.usage.input_tokens",
        "deployment.environment",
        "vapi.call.duration",
        "gen_ai.response.model",
    ]
)
ATTRIBUTE_VALUES = st.recursive(
    st.text(max_size=12)
    | st.integers(-5, 5)
    | st.booleans()
    | st.floats(allow_nan=False)
    | st.sampled_from(["[]", "{}", '[{"role": "user"}]', '[{"parts": [{"type": "text"}]}]']),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["role", "parts", "type", "content", "id"]), inner, max_size=3
        )
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.dictionaries(ATTRIBUTE_KEYS, ATTRIBUTE_VALUES, max_size=6), min_size=1, max_size=4),
    st.sampled_from(["chat", "execute_tool x", "vapi.call", "vapi.turn.1", "vapi.tool.t"]),
)
def test_any_attribute_values_map_or_refuse_the_span(
    attribute_sets: list[dict[str, Any]], name: str
) -> None:
    batch = mapped([span(attributes, name=name) for attributes in attribute_sets])
    assert len(batch.rejected) + batch.stored + batch.skipped == len(attribute_sets)
    for item in batch.records.values():
        json.dumps(item.record)  # storable as JSON


# -- what a span carries is mapped or refused alone, never a failed batch -----------------------

from shared.body import MAX_JSON_DEPTH  # noqa: E402
from shared.otel import service  # noqa: E402
from shared.otel.policy import MAX_TOOL_CALLS_PER_MESSAGE  # noqa: E402
from tests.support import nesting_depth  # noqa: E402


def nested(levels: int) -> Any:
    """A JSON value nesting `levels` levels: [[...[1]...]]."""
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def tool_span(arguments: Any, **extra: Any) -> Any:
    return span(
        {
            "moda.conversation_id": "c",
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup",
            "gen_ai.tool.call.arguments": arguments,
            **extra,
        }
    )


def test_tool_arguments_nested_as_deep_as_a_body_may_are_stored_parsed() -> None:
    (record,) = records(mapped([tool_span(json.dumps(nested(MAX_JSON_DEPTH)))]))
    assert nesting_depth(record["tool_call_request"]) == MAX_JSON_DEPTH


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(nested(MAX_JSON_DEPTH + 1)),
        json.dumps(nested(200)),
        '{"n": 1e400}',  # infinity once parsed: JSON cannot write it back
        '{"n": NaN}',
        "[" + "9" * 5000 + "]",
    ],
)
def test_tool_arguments_that_cannot_be_stored_parsed_are_stored_as_the_text_sent(
    text: str,
) -> None:
    flat = moda_chat(
        "c",
        [("user", "hi")],
        "",
        **{
            "gen_ai.completion.0.tool_calls.0.name": "f",
            "gen_ai.completion.0.tool_calls.0.arguments": text,
        },
    )
    batch = mapped([tool_span(text), flat])
    assert batch.rejected == []
    tool, _, reply = records(batch)
    assert tool["tool_call_request"] == text
    assert reply["content_blocks"][0]["input"] == text


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        (
            [{"role": "user", "parts": [{"type": "tool_call", "arguments": nested(70)}]}],
            f"gen_ai.input.messages nests deeper than {MAX_JSON_DEPTH} levels",
        ),
        (
            [{"role": "user", "parts": [{"type": "text", "content": "x", "n": 1e400}]}],
            "gen_ai.input.messages holds a number too large for JSON",
        ),
    ],
)
def test_messages_that_cannot_be_stored_refuse_their_span(sent: list[Any], reason: str) -> None:
    text = json.dumps(sent).replace("Infinity", "1e400")
    batch = mapped([span(semconv(**{"gen_ai.input.messages": text})), moda_chat("d", [], "ok")])
    (refused,) = batch.rejected
    assert reason in refused
    assert messages(batch) == [("assistant", "ok")]


def deep_any_value_request(levels: int, key: str = "gen_ai.tool.call.arguments") -> Any:
    """A request whose tool span carries an OTLP array `levels` deep: built in place, since
    protobuf's parser (and so the wire) stops at about 47 levels."""
    request = export_request([moda_chat("d", [("user", "hi")], "ok")])
    built = request.resource_spans[0].scope_spans[0].spans.add()
    built.CopyFrom(tool_span("{}"))
    attribute = built.attributes.add()
    attribute.key = key
    node = attribute.value
    for _ in range(levels):
        node = node.array_value.values.add()
    node.int_value = 1
    return request


def map_request(request: Any) -> MappedBatch:
    return map_spans(request, FACTS, lambda trace_ids: {})


def test_otlp_arrays_and_maps_nest_at_most_as_deep_as_a_body() -> None:
    batch = map_request(deep_any_value_request(MAX_JSON_DEPTH, "vapi.deep"))
    assert (batch.stored, batch.rejected) == (2, [])
    batch = map_request(deep_any_value_request(MAX_JSON_DEPTH + 1))
    (refused,) = batch.rejected
    assert f"attribute gen_ai.tool.call.arguments nests deeper than {MAX_JSON_DEPTH}" in refused
    assert messages(batch) == [("user", "hi"), ("assistant", "ok")]  # the other span stored


def test_a_resource_attribute_too_deep_refuses_the_spans_of_that_resource() -> None:
    request = deep_any_value_request(1)
    attribute = request.resource_spans[0].resource.attributes.add()
    attribute.key = "process.tree"
    node = attribute.value
    for _ in range(MAX_JSON_DEPTH + 1):
        node = node.kvlist_value.values.add().value
    batch = map_request(request)
    assert len(batch.rejected) == 2
    assert "resource attribute process.tree nests deeper" in batch.rejected[0]


def test_non_finite_doubles_are_stored_as_the_otlp_json_encoding_spells_them() -> None:
    call = span(
        {
            "moda.conversation_id": "c",
            "vapi.call.duration": float("nan"),
            "vapi.score": float("inf"),
            "vapi.low": float("-inf"),
        },
        name="vapi.call",
    )
    (record,) = records(mapped([call]))
    assert "duration" not in record
    assert {k: v for k, v in record["metadata"].items() if k.startswith("vapi.")} == {
        "vapi.call.duration": "NaN",
        "vapi.score": "Infinity",
        "vapi.low": "-Infinity",
    }
    json.loads(json.dumps(record, allow_nan=False))


HUGE = "9" * 4301  # past Python's int conversion limit


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({f"gen_ai.completion.0.tool_calls.{HUGE}.name": "f"}, "tool_calls.999999999999…"),
        (
            {f"gen_ai.completion.0.tool_calls.{MAX_TOOL_CALLS_PER_MESSAGE}.name": "f"},
            f"the limit is {MAX_TOOL_CALLS_PER_MESSAGE:,} tool calls per message",
        ),
        ({f"gen_ai.prompt.{HUGE}.content": "x"}, "a message at index of more than 9 digits"),
        ({"gen_ai.prompt.1000.content": "x"}, "a message at index 1,000; the limit is 1,000"),
        ({"llm.prompts.10000000000.content": "x"}, "a message at index of more than 9 digits"),
    ],
)
def test_indexes_out_of_range_refuse_their_span(attributes: dict[str, Any], reason: str) -> None:
    batch = mapped([span({"moda.conversation_id": "c", **attributes}), moda_chat("d", [], "ok")])
    (refused,) = batch.rejected
    assert reason in refused
    assert batch.stored == 1


def test_indexes_that_are_not_numbers_are_not_message_keys() -> None:
    batch = mapped(
        [
            moda_chat(
                "c",
                [("user", "hi")],
                "ok",
                **{
                    "gen_ai.prompt.-1.content": "x",
                    "gen_ai.prompt.x.content": "x",
                    "gen_ai.completion.0.tool_calls.-1.name": "f",
                    "gen_ai.completion.0.tool_calls.x.name": "f",
                    "gen_ai.prompt.00000000000000000000.role": "system",  # index 0
                },
            )
        ]
    )
    assert batch.rejected == []
    assert messages(batch) == [("system", "hi"), ("assistant", "ok")]
    assert "content_blocks" not in records(batch)[1]


def test_names_are_cut_and_counts_bounded_as_the_ingest_endpoints_take_them() -> None:
    chat = moda_chat(
        "c",
        [("user", "hi")],
        "ok",
        **{
            "gen_ai.usage.input_tokens": 2**53,  # over what a JSON client reads exactly
            "gen_ai.usage.output_tokens": 2**53 - 1,
            "gen_ai.completion.0.finish_reason": "s" * 1_000_000,
        },
    )
    chat.name = "n" * 1_000_000
    batch = mapped([chat], **{"service.name": "s" * 1_000_000})
    reply = records(batch)[-1]
    assert "input_tokens" not in reply
    assert reply["output_tokens"] == 2**53 - 1
    assert len(reply["metadata"]["otel.span_name"]) == 200
    assert len(reply["metadata"]["service.name"]) == 200
    assert len(reply["metadata"]["finish_reason"]) == 200


def test_a_mapping_fault_refuses_its_span_and_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = service.span_records

    def faulty(view: Any, *args: Any) -> Any:
        if view.attributes.get("moda.conversation_id") == "bad":
            raise RuntimeError("a bug")
        return real(view, *args)

    monkeypatch.setattr(service, "span_records", faulty)
    batch = mapped([moda_chat("bad", [], "x"), moda_chat("good", [], "ok")])
    (refused,) = batch.rejected
    assert refused.endswith(f"could not be mapped ({service.UNMAPPABLE})")
    assert messages(batch) == [("assistant", "ok")]
    assert "otel span could not be mapped" in caplog.text
