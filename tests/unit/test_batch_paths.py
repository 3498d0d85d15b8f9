"""The two ways a batch is built agree: the one-pass path for requests whose events are all
valid and far from every limit, and the event-by-event path that names each refusal. Wherever
the one-pass path gives a batch, it is the batch the other gives (items byte for byte, sizes,
sources, counts); everywhere else it steps aside."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.bodies import ingest_events, vogent_calls
from shared.ingest.service import (
    Batch,
    IngestPolicy,
    _checked_batch,
    _plain_batch,
    _Request,
    build_batch,
)
from tests.unit.batch_cases import (
    INVALID,
    KEYED,
    POLICIES,
    STANDARD,
    TYPED,
    VOGENT_INVALID,
    readable_item,
    source_of,
)
from tests.unit.helpers import INFO

PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=3),
    max_leaves=8,
)
maybe = st.none() | json_values  # a field sent as anything, null, or (below) not at all
roles = st.sampled_from(["user", "assistant", "system", "bot"])
blocks = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["text", "thinking", "tool_use", "tool_result", "other"])},
        optional={
            "text": text | json_values,
            "tool_name": text,
            "tool_use_id": text,
            "input": json_values,
            "content": text | st.lists(st.fixed_dictionaries({"text": text})),
            "is_error": st.booleans() | text,
        },
    ),
    max_size=3,
)
chat = st.fixed_dictionaries(
    {"conversation_id": st.sampled_from(["c1", "c2", ""]) | text, "role": roles},
    optional={
        "id": st.sampled_from(["m1", "m2"]) | text,
        "message": text | st.just("é" * 30_000) | maybe,
        "content": text | blocks | maybe,
        "content_blocks": blocks | maybe,
        "timestamp": st.sampled_from(["2024-01-15T10:30:00Z", "2024-02-29T23:59:59.999+01:00"])
        | text,
        "environment": st.sampled_from(["staging", "prod"]),
        "input_tokens": st.integers(-1, 10) | maybe,
        "model": text | maybe,
        "trace_id": text | maybe,
        "metadata": st.dictionaries(text, json_values, max_size=3) | maybe,
        "messageType": st.none(),
        "extra_field": json_values,
    },
)
typed = st.fixed_dictionaries(
    {
        "messageType": st.sampled_from(["channel", "tool_call", "email", "call", "sms"]),
        "id": st.sampled_from(["t1", "t2"]),
        "conversationId": st.sampled_from(["c1", "c3"]),
    },
    optional={
        "message": text,
        "role": roles,
        "name": text,
        "toolCallRequest": maybe,
        "toolCallResponse": maybe,
        "body": text,
        "inReplyTo": text,
        "to": st.lists(text, max_size=2),
        "transcript": st.lists(
            st.fixed_dictionaries({"role": text, "content": text}, optional={"mood": maybe}),
            max_size=2,
        ),
        "duration": st.integers(-1, 100) | st.floats(0, 100),
        "metadata": st.dictionaries(text, json_values, max_size=2),
    },
)
known = st.sampled_from([*STANDARD, *TYPED, *INVALID])
VOGENT_CALLS = vogent_calls(3, 5, 600)
# Valid ones, so most requests are plainly valid and the one-pass path has something to say.
good_text = st.text(min_size=1, max_size=12)
good_blocks = st.lists(
    st.fixed_dictionaries({"type": st.just("text"), "text": text})
    | st.fixed_dictionaries({"type": st.just("custom"), "data": json_values}),
    max_size=3,
)
good_chat = st.fixed_dictionaries(
    {
        "conversation_id": st.sampled_from(["c1", "c2"]) | good_text,
        "role": st.sampled_from(["user", "assistant", "system"]),
    },
    optional={
        "id": st.sampled_from(["m1", "m2"]) | good_text,
        "timestamp": st.sampled_from(["2024-01-15T10:30:00Z", "2024-03-31T23:59:59.999+01:00"]),
        "content_blocks": good_blocks,
        "model": text,
        "trace_id": text | st.none(),
        "metadata": st.dictionaries(text, json_values, max_size=3),
        "extra_field": json_values,
    },
).flatmap(
    lambda event: st.sampled_from(
        [
            {**event, "message": "hello"},
            {**event, "content": "from content"},
            {**event, "content": [{"type": "text", "text": "a"}, {"type": "x"}]},
            {**event, "message": "m", "content": [{"type": "text", "text": "b"}]},
        ]
    )
)
good_typed = st.sampled_from([e for e in TYPED if "inReplyTo" not in e or "role" in e])


def outcome(batch: Batch) -> str:
    return json.dumps(
        [
            [readable_item(p) for p in batch.prepared],
            [p.size for p in batch.prepared],
            [source_of(p) for p in batch.prepared],
            [[e.as_dict(), e.too_large] for e in batch.errors],
            sorted(batch.counts.items()),
        ]
    )


def both(policy: IngestPolicy, events: list[Any], environment: str = "production") -> None:
    def request() -> _Request:
        return _Request(KEYED, environment, KEYED.send_scope(policy.route))

    plain = _plain_batch(policy, events, request())
    checked = _checked_batch(policy, events, request())
    if plain is not None:
        assert not checked.errors
        assert outcome(plain) == outcome(checked)


@PROPERTIES
@given(
    st.lists(good_chat | good_chat | good_typed | chat | typed | known, min_size=1, max_size=6),
    st.sampled_from(["direct", "direct", "multi"]),
)
def test_either_path_builds_the_same_batch(events: list[Any], policy: str) -> None:
    both(POLICIES[policy], events, "staging")


@PROPERTIES
@given(
    st.lists(
        st.sampled_from(VOGENT_CALLS)
        | st.sampled_from(VOGENT_CALLS)
        | st.sampled_from(VOGENT_INVALID),
        min_size=1,
        max_size=4,
    )
)
def test_either_path_builds_the_same_vogent_batch(events: list[Any]) -> None:
    both(POLICIES["vogent"], events)


def test_a_plainly_valid_request_takes_the_one_pass_path() -> None:
    events = ingest_events(200, 500)
    request = _Request(INFO, "production", INFO.send_scope("/v1/ingest"))
    plain = _plain_batch(POLICIES["direct"], events, request)
    assert plain is not None
    assert outcome(plain) == outcome(build_batch(POLICIES["direct"], {"events": events}, INFO))


def test_a_request_near_a_limit_takes_the_checked_path() -> None:
    near = {"conversation_id": "c", "role": "user", "message": "é" * 51_200}  # 102,400 bytes
    request = _Request(INFO, "production", "scope")
    assert _plain_batch(POLICIES["direct"], [near], request) is None
    assert not build_batch(POLICIES["direct"], {"events": [near]}, INFO).errors
