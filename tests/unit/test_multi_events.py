"""`/v1/ingest/multi`: where it differs from `/v1/ingest`."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ingest.policies import DIRECT, MULTI
from shared.ingest.service import IngestPolicy
from tests.unit.helpers import batch, error, record


def email(**fields: Any) -> dict[str, Any]:
    return {"messageType": "email", "id": "email-1", "body": "Your order...", **fields}


def tool_call(**fields: Any) -> dict[str, Any]:
    return {"messageType": "tool_call", "id": "t-1", "conversationId": "c", "name": "f", **fields}


def test_event_without_message_type_points_to_v1_ingest() -> None:
    message = error(MULTI, {"conversation_id": "c", "role": "user", "message": "hi"})
    assert "messageType" in message
    assert "/v1/ingest" in message


def test_tool_call_needs_both_payload_keys() -> None:
    assert error(MULTI, tool_call(toolCallResponse={})) == "Tool call missing 'toolCallRequest'"
    assert error(MULTI, tool_call(toolCallRequest={})) == "Tool call missing 'toolCallResponse'"


def test_tool_call_payloads_may_be_null_or_any_json() -> None:
    rec = record(MULTI, tool_call(toolCallRequest=None, toolCallResponse="plain text"))
    assert rec["tool_call_request"] is None
    assert rec["tool_call_response"] == "plain text"


def test_email_needs_in_reply_to() -> None:
    assert error(MULTI, email(conversationId="c")) == "Email missing 'inReplyTo'"


def test_email_in_reply_to_is_the_conversation() -> None:
    rec = record(MULTI, email(inReplyTo="thread-001", subject="Order confirmation"))
    assert rec["conversation_id"] == "thread-001"
    assert rec["in_reply_to"] == "thread-001"
    assert rec["email_subject"] == "Order confirmation"
    assert "role" not in rec  # never guessed


def test_email_conversation_id_is_kept_as_extra() -> None:
    rec = record(MULTI, email(inReplyTo="thread-001", conversationId="conv-9", role="assistant"))
    assert rec["conversation_id"] == "thread-001"
    assert rec["extra"] == {"conversationId": "conv-9"}
    assert rec["role"] == "assistant"


def test_same_email_threads_differently_per_endpoint() -> None:
    sent = email(inReplyTo="parent", conversationId="conv", role="user")
    assert record(DIRECT, sent)["conversation_id"] == "conv"
    assert record(MULTI, sent)["conversation_id"] == "parent"


def test_channel_missing_conversation_id_wording() -> None:
    event = {"messageType": "channel", "id": "m", "message": "x", "role": "user"}
    result = batch(MULTI, {"events": [event, event, event]})
    assert [e.index for e in result.errors] == [0, 1, 2]
    assert result.errors[2].message == "Channel message missing 'conversationId'"


TOOL_ONLY_DETAILS = {
    "channel": 0,
    "tool_call": 1,
    "email": 0,
    "call": 0,
    "call_transcript_messages": 0,
}


@pytest.mark.parametrize("policy", [DIRECT, MULTI])
def test_details_count_channel_specific_events(policy: IngestPolicy) -> None:
    result = batch(policy, {"events": [tool_call(toolCallRequest=1, toolCallResponse=2)]})
    assert policy.details(result.counts) == TOOL_ONLY_DETAILS


def test_details_absent_on_direct_for_standard_events_only() -> None:
    result = batch(DIRECT, {"events": [{"conversation_id": "c", "role": "user", "message": "m"}]})
    assert DIRECT.details(result.counts) is None


def test_details_always_present_on_multi() -> None:
    channel = {
        "messageType": "channel",
        "id": "m",
        "conversationId": "c",
        "message": "x",
        "role": "user",
    }
    result = batch(MULTI, {"events": [channel]})
    assert MULTI.details(result.counts) == {**TOOL_ONLY_DETAILS, "tool_call": 0, "channel": 1}
