"""`/v1/ingest/multi` and `/v1/ingest/vogent-raw` through their real handlers under moto: every
validation message they document, and the fan-out stored exactly as counted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.ingest_multi.app import handler as ingest_multi
from functions.ingest_vogent_raw.app import handler as ingest_vogent_raw
from functions.records.app import handler as list_records
from tests.support import api_event, invoke, records_event

pytestmark = pytest.mark.usefixtures("dynamodb")

CHANNEL = {
    "messageType": "channel",
    "id": "m",
    "conversationId": "c",
    "message": "x",
    "role": "user",
}
ENTRY = {"text": "hello", "speaker": "AI"}


def call(**fields: Any) -> dict[str, Any]:
    return {"id": "call-1", "conversationId": "s", "transcript": [ENTRY], **fields}


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [CHANNEL, CHANNEL, {k: v for k, v in CHANNEL.items() if k != "conversationId"}],
            "Event 2: Channel message missing 'conversationId'",
        ),
        (
            [{"messageType": "email", "id": "e", "body": "b", "conversationId": "c"}],
            "Event 0: Email missing 'inReplyTo'",
        ),
        (
            [{"messageType": "tool_call", "id": "t", "conversationId": "c", "name": "f"}],
            "Event 0: Tool call missing 'toolCallRequest'",
        ),
        (
            [{"messageType": "call", "id": "c", "conversationId": "c"}],
            "Event 0: Call missing 'transcript'",
        ),
        (
            [{"conversation_id": "c", "role": "user", "message": "m"}],
            "Event 0: missing 'messageType' (channel, tool_call, email or call); "
            "send standard chat events to POST /v1/ingest",
        ),
    ],
)
def test_multi_validation_messages(events: list[dict[str, Any]], message: str) -> None:
    answer = invoke(ingest_multi, api_event("POST", "/v1/ingest/multi", body={"events": events}))
    assert answer.status == 400
    assert answer.body["message"] == message
    assert answer.body["retryable"] is False


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (call(id=""), "Event 0: Missing or invalid 'id' field"),
        (call(conversationId=None), "Event 0: Missing or invalid 'conversationId' field"),
        (call(transcript=[]), "Event 0: Missing or empty 'transcript' array"),
        (
            call(transcript=[ENTRY, ENTRY, ENTRY, {"speaker": "AI"}]),
            "Event 0: Transcript entry 3 missing 'text' field",
        ),
        (
            call(transcript=[ENTRY, ENTRY, ENTRY, {"text": "x", "speaker": "BOT"}]),
            "Event 0: Transcript entry 3 has invalid 'speaker' (must be AI or HUMAN)",
        ),
        (
            call(transcript=[{"text": "<|silence|>", "speaker": "AI"}]),
            "Event 0: transcript has no utterances or function calls",
        ),
    ],
)
def test_vogent_validation_messages(event: dict[str, Any], message: str) -> None:
    answer = invoke(
        ingest_vogent_raw, api_event("POST", "/v1/ingest/vogent-raw", body={"events": [event]})
    )
    assert answer.status == 400
    assert answer.body["message"] == message


def test_too_many_records_is_413_naming_the_limit() -> None:
    events = [call(id=f"c{i}", transcript=[ENTRY] * 60) for i in range(850)]  # 51,000 records
    answer = invoke(
        ingest_vogent_raw, api_event("POST", "/v1/ingest/vogent-raw", body={"events": events})
    )
    assert answer.status == 413
    assert "50,000 records" in answer.body["message"]


def stored_records(conversation_id: str) -> list[dict[str, Any]]:
    answer = invoke(list_records, records_event(conversation_id, query={"limit": "1000"}))
    data: list[dict[str, Any]] = answer.body["data"]
    return data


_entry = st.fixed_dictionaries(
    {
        "text": st.sampled_from(["hi", "<|silence|>", "", "ok <|press:2|>", "<|x|> <|y|>"]),
        "speaker": st.sampled_from(["AI", "HUMAN"]),
    },
    optional={
        "functionCalls": st.lists(
            st.fixed_dictionaries({"name": st.sampled_from(["f", "g"])}), max_size=2
        ),
        "detailType": st.just("function"),
        "startTimeMs": st.integers(0, 10_000),
    },
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(transcripts=st.lists(st.lists(_entry, min_size=1, max_size=8), min_size=1, max_size=3))
def test_counts_match_records_stored(transcripts: list[list[dict[str, Any]]]) -> None:
    conversation = f"prop-{uuid.uuid4().hex}"
    events = [
        {"id": f"call-{i}", "conversationId": conversation, "transcript": transcript}
        for i, transcript in enumerate(transcripts)
    ]
    answer = invoke(
        ingest_vogent_raw, api_event("POST", "/v1/ingest/vogent-raw", body={"events": events})
    )
    if answer.status == 400:  # some call emits nothing: refused whole, nothing stored
        assert answer.body["message"].endswith("transcript has no utterances or function calls")
        assert stored_records(conversation) == []
        return
    assert answer.status == 200, answer.body
    details = answer.body["details"]
    stored = stored_records(conversation)
    assert answer.body["count"] == details["utterances"] + details["function_calls"] == len(stored)
    assert details["calls"] == len(transcripts)
    assert details["function_calls"] == sum(r["message_source"] == "tool_call" for r in stored)
