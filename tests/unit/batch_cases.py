"""A fixed set of requests covering every event model, id rule, record field and refusal, and
what the pipeline made of each: `outcome` is one request's batch (items, sizes, sources,
refusals, counts) or request-level refusal, as JSON text, so two pipelines can be compared
byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bench.bodies import ingest_events, vogent_calls
from shared.errors import ApiError
from shared.ingest.codec import record_text
from shared.ingest.policies import DIRECT, MULTI
from shared.ingest.service import IngestPolicy, RequestInfo
from shared.ingest.store import PreparedRecord
from shared.ingest.vogent import VOGENT_RAW
from tests.unit.helpers import INFO

KEYED = RequestInfo(INFO.tenant_id, INFO.request_id, INFO.received_at, INFO.received_ns, "key-1")
POLICIES = {"direct": DIRECT, "multi": MULTI, "vogent": VOGENT_RAW}


def chat(**fields: Any) -> dict[str, Any]:
    return {"conversation_id": "conv-1", "role": "user", "message": "Hello", **fields}


def _typed(kind: str, **fields: Any) -> dict[str, Any]:
    return {"messageType": kind, "id": f"{kind}-1", "conversationId": "conv-2", **fields}


BLOCKS = [
    {"type": "text", "text": "part one"},
    {"type": "thinking", "text": "hmm"},
    {"type": "tool_use", "tool_name": "f", "tool_use_id": "tu1", "input": {"q": [1, 2.5]}},
    {"type": "tool_result", "tool_use_id": "tu1", "content": [{"type": "text", "text": "r"}]},
    {"type": "tool_result", "tool_use_id": "tu2", "content": "plain", "is_error": True},
    {"type": "image", "source": {"url": "https://example.com/x.png"}},
    {"type": "custom", "anything": [None, True]},
]

STANDARD = [
    chat(),
    chat(id="m-1", timestamp="2024-01-15T10:30:00Z"),
    chat(timestamp="2024-01-15T12:30:00.123456+02:00", metadata={"b": 1, "a": {"z": [3, 1]}}),
    chat(timestamp="2024-01-15T10:30:00"),
    chat(message=None, content="from content"),
    chat(message="wins", content="loses"),
    chat(message=None, content=BLOCKS),
    chat(message=None, content=BLOCKS[:2], content_blocks=BLOCKS[2:4]),
    chat(content_blocks=[{"type": "vogent_tool_call", "name": "x"}]),
    chat(
        id="m-2",
        trace_id="t-1",
        user_id="u",
        input_tokens=12,
        output_tokens=0,
        reasoning_tokens=2**53 - 1,
        model="gpt-4o",
        provider="openai",
        prompt_id="p",
        prompt_name="n",
        prompt_version="3",
        environment="development",
        metadata={"k": [1, 2.5, None, 1e300, -0.0, 10**30]},
    ),
    chat(trace_id=None, model=None, messageType=None),
    chat(session={"a": 1}, tags=["x"], role="system", text="naïve café — 日本語 😀"),
    chat(id="m-1", message="same id again: the later one wins"),
    chat(message='tab\t quote" backslash\\ nul\u0000 line\u2028'),
]
TYPED = [
    _typed("channel", message="hi", role="assistant", userId="u-1", metadata={"c": "#x"}),
    _typed("channel", message="", role="user", timestamp="2025-01-04T12:00:00Z", extra_key=1),
    _typed("tool_call", name="lookup"),
    _typed("tool_call", name="lookup", toolCallRequest=None, toolCallResponse=[1, "two"]),
    _typed("tool_call", name="f", toolCallRequest={"a": {"b": {}}}, toolCallResponse="t"),
    _typed(
        "email",
        role="user",
        subject="Re: Order",
        body="Thanks",
        inReplyTo="parent",
        to=["b@example.com"],
    ),
    {
        "messageType": "email",
        "id": "email-2",
        "inReplyTo": "thread-1",
        "body": "threaded",
        "from": "a@example.com",
        "conversationId": "conv-9",
        "role": "assistant",
    },
    _typed(
        "call",
        transcript=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!", "timestamp": "2025-01-01T00:00:01Z"},
            {"role": "user", "content": "x", "timestamp": None, "mood": "ok"},
        ],
        duration=180.5,
        callType="video",
    ),
]
INVALID = [
    "not an object",
    chat(role="robot"),
    chat(conversation_id=""),
    chat(message=None),
    chat(input_tokens=True),
    chat(timestamp="yesterday"),
    chat(content_blocks=[{"type": "text"}]),
    {"messageType": "sms", "id": "s"},
    {"messageType": 5},
    _typed("channel", role="user"),
    _typed("tool_call", name="n", toolCallResponse={}),
    _typed("email", body="b", role="system"),
    chat(message="é" * 60_000),  # over 100 KB of UTF-8 in 60,000 characters
    chat(message=None, content=[{"type": "text", "text": "x" * 60_000}] * 2),
    chat(content_blocks=[{"type": "tool_result", "tool_use_id": "t", "content": "y" * 102_401}]),
    chat(metadata={"blob": "z" * 360_000}),  # the record passes DynamoDB's item budget
]
OK_TEXT = chat(message="é" * 51_200)  # exactly 102,400 bytes: at the limit, accepted

VOGENT_INVALID = [
    {"id": "c", "conversationId": "s", "transcript": []},
    {"id": "c", "conversationId": "s", "transcript": [{"text": "<|silence|>", "speaker": "AI"}]},
    {"id": "c", "conversationId": "s", "transcript": [{"text": "hi", "speaker": "BOT"}]},
    {"conversationId": "s", "transcript": [{"text": "hi", "speaker": "AI"}]},
]

# (name, policy, body, request info, partial success)
Case = tuple[str, str, Any, RequestInfo, bool]


def cases() -> list[Case]:
    def events(*items: Any, **request: Any) -> dict[str, Any]:
        return {"events": list(items), **request}

    mixed = ingest_events(120, 400)
    untimed = [{k: v for k, v in e.items() if k != "timestamp"} for e in mixed]
    return [
        ("bench mixed", "direct", events(*mixed), INFO, False),
        ("bench untimed keyed", "direct", events(*untimed), KEYED, False),
        ("standard", "direct", events(*STANDARD, OK_TEXT), INFO, False),
        (
            "standard staging keyed",
            "direct",
            events(*STANDARD, environment="staging"),
            KEYED,
            False,
        ),
        ("typed direct", "direct", events(*TYPED), INFO, False),
        (
            "typed multi",
            "multi",
            events(*TYPED[:2], *TYPED[3:], environment="staging"),
            INFO,
            False,
        ),
        ("typed multi refused", "multi", events(*TYPED), INFO, False),
        ("multi standard refused", "multi", events(chat(), *TYPED), INFO, True),
        ("invalid whole", "direct", events(*STANDARD[:3], *INVALID), INFO, False),
        ("invalid partial", "direct", events(*STANDARD, *INVALID, *TYPED), INFO, True),
        ("invalid multi partial", "multi", events(*INVALID, *TYPED), INFO, True),
        ("one invalid", "direct", events(*mixed[:50], chat(role="x"), *mixed[50:]), INFO, False),
        ("size only", "direct", events(chat(), INVALID[-4]), INFO, False),
        ("vogent", "vogent", events(*vogent_calls(6, 9, 900)), INFO, False),
        ("vogent partial", "vogent", events(*vogent_calls(2), *VOGENT_INVALID), INFO, True),
        ("vogent invalid", "vogent", events(*VOGENT_INVALID), INFO, False),
        ("not an object", "direct", [chat()], INFO, False),
        ("no events", "direct", {"environment": "staging"}, INFO, False),
        ("events not a list", "direct", {"events": {"a": 1}}, INFO, False),
        ("empty events", "direct", events(), INFO, False),
        ("bad environment", "direct", events(chat(), environment="prod"), INFO, False),
        ("too many", "direct", events(*[chat()] * 1001), INFO, False),
    ]


Pipeline = Callable[[IngestPolicy, Any, RequestInfo, bool], Any]


def readable_item(prepared: PreparedRecord) -> dict[str, Any]:
    """The item with `rec` as the string it was when the digests were recorded: the stored
    form (shared/ingest/codec.py) is tested on its own."""
    return prepared.item | {"rec": {"S": record_text(prepared.item["rec"])}}


def source_of(prepared: PreparedRecord) -> str:
    """The record's message source, as the digests recorded it (stored in its `rec` JSON)."""
    source: str = (
        json.loads(record_text(prepared.item["rec"]) or "").get("message_source") or "unknown"
    )
    return source


def outcome(pipeline: Pipeline, case: Case) -> str:
    """What `pipeline` (build a batch, refusing invalid events unless partial) made of it."""
    _, policy, payload, info, partial = case
    try:
        batch = pipeline(POLICIES[policy], payload, info, partial)
    except ApiError as exc:
        refusal = [exc.status, exc.message, [[e.as_dict(), e.too_large] for e in exc.errors]]
        return json.dumps({"refused": [type(exc).__name__, *refusal]})
    return json.dumps(
        {
            "items": [readable_item(p) for p in batch.prepared],
            "sizes": [p.size for p in batch.prepared],
            "sources": [source_of(p) for p in batch.prepared],
            "errors": [[e.as_dict(), e.too_large] for e in batch.errors],
            "counts": sorted(batch.counts.items()),
        },
        ensure_ascii=False,
    )
