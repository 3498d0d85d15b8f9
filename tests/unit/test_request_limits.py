"""Request-level rules shared by every ingest endpoint (docs/ingest-api.md: Limits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.errors import BadRequest, InvalidEvents, PayloadTooLarge
from shared.ingest.policies import DIRECT, MULTI
from shared.ingest.records import MAX_MESSAGE_BYTES
from shared.ingest.service import MAX_EVENTS, MAX_RECORDS, IngestPolicy
from shared.ingest.vogent import VOGENT_RAW
from tests.unit.helpers import batch, records


def chat(message: str = "hi", **fields: Any) -> dict[str, Any]:
    return {"conversation_id": "c", "role": "user", "message": message, **fields}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([chat()], "Request body must be a JSON object with an 'events' array"),
        ("events", "Request body must be a JSON object with an 'events' array"),
        ({}, "Missing 'events' array"),
        ({"events": {"0": chat()}}, "'events' must be an array"),
        ({"events": []}, "'events' must contain at least one event"),
        (
            {"events": [chat()], "environment": "prod"},
            "environment must be one of development, staging, production (got 'prod')",
        ),
    ],
)
def test_malformed_requests_are_400(payload: Any, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        batch(DIRECT, payload)
    assert raised.value.message == message


def test_event_that_is_not_an_object_is_refused() -> None:
    result = batch(DIRECT, {"events": [chat(), "text", 5]})
    assert [(e.index, e.message) for e in result.errors] == [
        (1, "event must be a JSON object"),
        (2, "event must be a JSON object"),
    ]


def test_thousand_events_are_accepted_and_one_more_is_413() -> None:
    assert len(records(DIRECT, *[chat(str(i)) for i in range(MAX_EVENTS)])) == MAX_EVENTS
    with pytest.raises(PayloadTooLarge, match="1,001 events; the limit is 1,000"):
        batch(DIRECT, {"events": [chat()] * (MAX_EVENTS + 1)})


def _tool_result(content: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": "u", "content": content}


# Every place a message's text can arrive: (policy, event with the text, field named on refusal).
TEXT_PLACES: dict[str, tuple[IngestPolicy, Callable[[str], dict[str, Any]], str]] = {
    "message": (DIRECT, chat, "message"),
    "content string": (
        DIRECT,
        lambda t: {"conversation_id": "c", "role": "user", "content": t},
        "content",
    ),
    "content text block": (
        DIRECT,
        lambda t: {
            "conversation_id": "c",
            "role": "user",
            "content": [{"type": "text", "text": t}],
        },
        "content[0].text",
    ),
    "content thinking block": (
        DIRECT,
        lambda t: chat(content=[{"type": "thinking", "text": t}]),
        "content[0].text",
    ),
    "content_blocks text block": (
        DIRECT,
        lambda t: chat(content_blocks=[{"type": "text", "text": "a"}, {"type": "text", "text": t}]),
        "content_blocks[1].text",
    ),
    "content_blocks thinking block": (
        DIRECT,
        lambda t: chat(content_blocks=[{"type": "thinking", "text": t}]),
        "content_blocks[0].text",
    ),
    "tool_result content string": (
        DIRECT,
        lambda t: chat(content_blocks=[_tool_result(t)]),
        "content_blocks[0].content",
    ),
    "tool_result content text part": (
        DIRECT,
        lambda t: chat(content=[_tool_result([{"type": "text", "text": t}])]),
        "content[0].content[0].text",
    ),
    "channel message": (
        DIRECT,
        lambda t: {
            "messageType": "channel",
            "id": "m",
            "conversationId": "c",
            "role": "user",
            "message": t,
        },
        "message",
    ),
    "email body": (
        DIRECT,
        lambda t: {
            "messageType": "email",
            "id": "e",
            "conversationId": "c",
            "role": "user",
            "body": t,
        },
        "body",
    ),
    "threaded email body (/multi)": (
        MULTI,
        lambda t: {"messageType": "email", "id": "e", "inReplyTo": "t", "body": t},
        "body",
    ),
    "call transcript turn": (
        DIRECT,
        lambda t: {
            "messageType": "call",
            "id": "k",
            "conversationId": "c",
            "transcript": [{"role": "user", "content": "hi"}, {"role": "agent", "content": t}],
        },
        "transcript[1].content",
    ),
    "vogent text": (
        VOGENT_RAW,
        lambda t: {
            "id": "v",
            "conversationId": "c",
            "transcript": [{"text": "hi", "speaker": "AI"}, {"text": t, "speaker": "HUMAN"}],
        },
        "transcript[1].text",
    ),
}


@pytest.mark.parametrize("place", list(TEXT_PLACES))
def test_100_kb_limit_applies_wherever_text_arrives(place: str) -> None:
    policy, event, field = TEXT_PLACES[place]
    assert not batch(policy, {"events": [event("x" * MAX_MESSAGE_BYTES)]}).errors
    (error,) = batch(policy, {"events": [event("é" * (MAX_MESSAGE_BYTES // 2) + "x")]}).errors
    assert (error.field, error.too_large) == (field, True)
    assert error.message == (
        f"{field} is 102,401 bytes; the limit is 102,400 bytes (100 KB) per message"
    )


def test_text_blocks_joined_into_the_message_count_together() -> None:
    half = {"type": "text", "text": "x" * (MAX_MESSAGE_BYTES // 2)}
    assert not batch(DIRECT, {"events": [chat(content=[half, half])]}).errors  # with message
    event = {"conversation_id": "c", "role": "user", "content": [half, half]}
    (error,) = batch(DIRECT, {"events": [event]}).errors  # "\n" joins them: one byte over
    assert (error.field, error.too_large) == ("content", True)


def test_message_of_exactly_100_kb_is_accepted() -> None:
    assert records(DIRECT, chat("x" * MAX_MESSAGE_BYTES))[0]["message"] == "x" * MAX_MESSAGE_BYTES


def test_message_over_100_kb_is_413_with_index_and_sizes() -> None:
    big = "é" * (MAX_MESSAGE_BYTES // 2 + 1)  # two bytes each in UTF-8
    result = batch(DIRECT, {"events": [chat(), chat("bad", role="bot"), chat(big)]})
    error = InvalidEvents(result.errors)
    assert error.status == 413  # a size limit outranks the invalid role of event 1
    assert error.message == (
        "Event 2: message is 102,402 bytes; the limit is 102,400 bytes (100 KB) per message"
    )
    assert [e.index for e in error.errors] == [1, 2]


def test_invalid_events_are_400_naming_the_first() -> None:
    result = batch(DIRECT, {"events": [chat(), chat(role="bot"), {"role": "user", "message": "m"}]})
    error = InvalidEvents(result.errors)
    assert error.status == 400
    assert error.message == "Event 1: role must be one of user, assistant, system (got 'bot')"
    assert [e.as_dict() for e in error.errors] == [
        {
            "index": 1,
            "field": "role",
            "message": "role must be one of user, assistant, system (got 'bot')",
        },
        {"index": 2, "field": "conversation_id", "message": "missing 'conversation_id'"},
    ]


def test_at_most_100_errors_are_listed() -> None:
    result = batch(DIRECT, {"events": [chat(role="bot")] * 150})
    assert len(result.errors) == 150
    assert len(InvalidEvents(result.errors).errors) == 100


def test_stored_record_size_counts_utf8_bytes() -> None:
    # 120,000 three-byte characters: 120 K characters but 360 KB, over the 350,000-byte limit
    result = batch(DIRECT, {"events": [chat(metadata={"notes": "字" * 120_000})]})
    (error,) = result.errors
    assert error.too_large
    assert "the limit is 350,000 bytes per stored record" in error.message


def test_more_than_50000_records_is_413() -> None:
    entry = {"text": "hello", "speaker": "AI"}
    per_call = 100
    calls = MAX_RECORDS // per_call + 1
    events = [
        {"id": f"call-{i}", "conversationId": "c", "transcript": [entry] * per_call}
        for i in range(calls)
    ]
    with pytest.raises(PayloadTooLarge, match="the limit is 50,000 records per request"):
        batch(VOGENT_RAW, {"events": events})


def test_exactly_50000_records_are_accepted() -> None:
    entry = {"text": "hello", "speaker": "AI"}
    events = [
        {"id": f"call-{i}", "conversationId": "c", "transcript": [entry] * 100} for i in range(500)
    ]
    assert len(batch(VOGENT_RAW, {"events": events}).prepared) == MAX_RECORDS
