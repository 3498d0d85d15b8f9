"""`/v1/ingest` events: validation wording and normalized records."""

from __future__ import annotations

from typing import Any

import pytest

from shared.ingest.policies import DIRECT
from tests.unit.helpers import INFO, error, record, records


def chat(**fields: Any) -> dict[str, Any]:
    return {"conversation_id": "conv-1", "role": "user", "message": "Hello", **fields}


class TestStandardEvents:
    def test_minimal_event_becomes_a_chat_record(self) -> None:
        rec = record(DIRECT, chat())
        assert rec["message_source"] == "chat"
        assert rec["conversation_id"] == "conv-1"
        assert rec["trace_id"] == "conv-1"  # defaults to the conversation
        assert rec["role"] == "user"
        assert rec["message"] == "Hello"
        assert rec["environment"] == "production"
        assert rec["timestamp"] == INFO.received_at  # no timestamp: when it was received
        assert rec["received_at"] == INFO.received_at
        assert rec["request_id"] == "req-1"
        assert rec["has_tool_use"] is False
        assert rec["id"].startswith("rec_")
        for absent in ("model", "user_id", "extra", "content_blocks", "input_tokens"):
            assert absent not in rec

    def test_optional_fields_are_copied(self) -> None:
        fields = {
            "trace_id": "t-1",
            "user_id": "u-1",
            "input_tokens": 12,
            "output_tokens": 8,
            "reasoning_tokens": 0,
            "model": "gpt-4o",
            "provider": "openai",
            "prompt_id": "p",
            "prompt_name": "greeter",
            "prompt_version": "3",
            "metadata": {"k": [1, 2.5, None]},
        }
        rec = record(DIRECT, chat(**fields))
        for name, value in fields.items():
            assert rec[name] == value

    def test_unknown_fields_are_kept_under_extra(self) -> None:
        rec = record(DIRECT, chat(session={"a": 1}, tags=["x"]))
        assert rec["extra"] == {"session": {"a": 1}, "tags": ["x"]}

    def test_message_wins_over_content(self) -> None:
        rec = record(DIRECT, chat(message="from message", content="from content"))
        assert rec["message"] == "from message"

    def test_content_string_is_the_message(self) -> None:
        event = chat(content="from content")
        del event["message"]
        assert record(DIRECT, event)["message"] == "from content"

    def test_content_blocks_array_gives_text_and_blocks(self) -> None:
        blocks = [
            {"type": "thinking", "text": "hmm"},
            {"type": "text", "text": "line 1"},
            {"type": "tool_use", "tool_name": "search", "tool_use_id": "t1", "input": {"q": 1}},
            {"type": "text", "text": "line 2"},
        ]
        event = chat(content=blocks)
        del event["message"]
        rec = record(DIRECT, event)
        assert rec["message"] == "line 1\nline 2"
        assert rec["content_blocks"] == blocks
        assert rec["has_tool_use"] is True

    def test_explicit_content_blocks_win_over_content_array(self) -> None:
        event = chat(
            content=[{"type": "text", "text": "a"}],
            content_blocks=[{"type": "text", "text": "b"}],
        )
        rec = record(DIRECT, event)
        assert rec["content_blocks"] == [{"type": "text", "text": "b"}]
        assert rec["has_tool_use"] is False

    def test_unknown_block_types_are_stored_as_sent(self) -> None:
        block = {"type": "audio", "anything": {"goes": True}}
        assert record(DIRECT, chat(content_blocks=[block]))["content_blocks"] == [block]

    @pytest.mark.parametrize(
        ("block", "problem"),
        [
            ({"text": "no type"}, "content_blocks item 0 needs a string 'type'"),
            ({"type": "text"}, "content_blocks item 0 (text) missing 'text'"),
            ({"type": "tool_use", "tool_name": "x", "input": {}}, "missing 'tool_use_id'"),
            ({"type": "tool_result", "tool_use_id": "x"}, "(tool_result) missing 'content'"),
            ({"type": "image"}, "(image) missing 'source'"),
            ({"type": "text", "text": 5}, "'text' must be a string"),
            (
                {"type": "tool_result", "tool_use_id": "x", "content": "", "is_error": "no"},
                "'is_error' must be a boolean",
            ),
        ],
    )
    def test_known_block_types_are_validated(self, block: dict[str, Any], problem: str) -> None:
        assert problem in error(DIRECT, chat(content_blocks=[block]))

    def test_timestamp_is_normalized_to_utc_milliseconds(self) -> None:
        rec = record(DIRECT, chat(timestamp="2024-01-15T12:30:00.123456+02:00"))
        assert rec["timestamp"] == "2024-01-15T10:30:00.123Z"

    def test_timestamp_without_offset_is_utc(self) -> None:
        assert record(DIRECT, chat(timestamp="2024-01-15T10:30:00"))["timestamp"] == (
            "2024-01-15T10:30:00.000Z"
        )

    def test_event_environment_wins_over_request(self) -> None:
        recs = records(DIRECT, chat(), chat(environment="development"), environment="staging")
        assert [r["environment"] for r in recs] == ["staging", "development"]

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"conversation_id": None}, "missing 'conversation_id'"),
            ({"role": "bot"}, "role must be one of user, assistant, system (got 'bot')"),
            (  # a refused value is echoed short, never whole
                {"role": "b" * 10_000},
                f"role must be one of user, assistant, system (got '{'b' * 40}…')",
            ),
            ({"role": {"a": 1}}, "role must be one of user, assistant, system (got an object)"),
            ({"role": None}, "missing 'role'"),
            ({"message": None}, "missing 'message' or 'content'"),
            ({"input_tokens": "12"}, "input_tokens must be an integer (got '12')"),
            ({"input_tokens": True}, "input_tokens must be an integer (got true)"),
            ({"output_tokens": -1}, "output_tokens must not be negative (got -1)"),
            (
                {"output_tokens": 2**53},
                "output_tokens must be at most 9,007,199,254,740,991 (got 9007199254740992)",
            ),
            ({"reasoning_tokens": 1.5}, "reasoning_tokens must be an integer (got 1.5)"),
            (
                {"timestamp": "yesterday"},
                "timestamp must be an ISO 8601 timestamp, e.g. 2024-01-15T10:30:00Z "
                "(got 'yesterday')",
            ),
            ({"timestamp": 1700000000}, "timestamp must be a string (got 1700000000)"),
            (
                {"environment": "prod"},
                "environment must be one of development, staging, production (got 'prod')",
            ),
            ({"model": 4}, "model must be a string (got 4)"),
            ({"metadata": []}, "metadata must be an object (got an array)"),
            ({"conversation_id": ""}, "conversation_id must not be empty"),
            ({"conversation_id": "x" * 201}, "conversation_id must be at most 200 characters"),
        ],
    )
    def test_invalid_fields_are_named(self, change: dict[str, Any], message: str) -> None:
        event = {k: v for k, v in {**chat(), **change}.items() if v is not None}
        assert error(DIRECT, event) == message


class TestChannelSpecificEvents:
    def test_channel_message(self) -> None:
        rec = record(
            DIRECT,
            {
                "messageType": "channel",
                "id": "msg-123",
                "conversationId": "thread-456",
                "message": "Hello",
                "role": "assistant",
                "userId": "user-789",
                "timestamp": "2025-01-04T12:00:00Z",
                "metadata": {"channel": "#support"},
            },
        )
        assert rec["message_source"] == "channel"
        assert rec["conversation_id"] == "thread-456"
        assert rec["user_id"] == "user-789"
        assert rec["timestamp"] == "2025-01-04T12:00:00.000Z"
        assert rec["metadata"] == {"channel": "#support"}
        assert "extra" not in rec  # messageType is a known field

    def test_tool_call_payloads_are_optional_here(self) -> None:
        rec = record(
            DIRECT, {"messageType": "tool_call", "id": "t", "conversationId": "c", "name": "lookup"}
        )
        assert rec["tool_name"] == "lookup"
        assert rec["has_tool_use"] is True
        assert "tool_call_request" not in rec
        assert "tool_call_response" not in rec

    def test_tool_call_payload_sent_as_null_is_kept(self) -> None:
        rec = record(
            DIRECT,
            {
                "messageType": "tool_call",
                "id": "t",
                "conversationId": "c",
                "name": "lookup",
                "toolCallRequest": None,
                "toolCallResponse": [1, "two"],
            },
        )
        assert rec["tool_call_request"] is None
        assert rec["tool_call_response"] == [1, "two"]

    def test_email_threads_by_conversation_id_here(self) -> None:
        rec = record(
            DIRECT,
            {
                "messageType": "email",
                "id": "email-123",
                "conversationId": "conv-456",
                "role": "user",
                "subject": "Re: Order",
                "body": "Thanks",
                "inReplyTo": "parent-id",
                "from": "a@example.com",
                "to": ["b@example.com"],
            },
        )
        assert rec["conversation_id"] == "conv-456"
        assert rec["in_reply_to"] == "parent-id"
        assert rec["message"] == "Thanks"
        assert rec["email_subject"] == "Re: Order"
        assert rec["email_from"] == "a@example.com"
        assert rec["email_to"] == ["b@example.com"]

    def test_call_is_one_record_with_rendered_transcript(self) -> None:
        turns = [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!", "timestamp": "2025-01-01T00:00:01Z"},
        ]
        rec = record(
            DIRECT,
            {
                "messageType": "call",
                "id": "call-123",
                "conversationId": "s",
                "transcript": turns,
                "duration": 180,
                "callType": "phone",
            },
        )
        assert rec["message"] == "user: Hi\nassistant: Hello!"
        assert rec["content_blocks"] == [{"type": "call_transcript", "transcript": turns}]
        assert rec["duration"] == 180
        assert rec["call_type"] == "phone"

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            (
                {"messageType": "channel", "id": "m", "message": "x", "role": "user"},
                "Channel message missing 'conversationId'",
            ),
            (
                {"messageType": "email", "id": "e", "conversationId": "c", "role": "user"},
                "Email missing 'body'",
            ),
            (
                {"messageType": "tool_call", "id": "t", "conversationId": "c"},
                "Tool call missing 'name'",
            ),
            (
                {"messageType": "call", "id": "c", "conversationId": "c"},
                "Call missing 'transcript'",
            ),
            (
                {
                    "messageType": "email",
                    "id": "e",
                    "conversationId": "c",
                    "role": "system",
                    "body": "b",
                },
                "role must be one of user, assistant (got 'system')",
            ),
            (
                {
                    "messageType": "call",
                    "id": "c",
                    "conversationId": "c",
                    "transcript": [],
                    "callType": "fax",
                },
                "callType must be one of phone, video, voice (got 'fax')",
            ),
            (
                {
                    "messageType": "call",
                    "id": "c",
                    "conversationId": "c",
                    "transcript": [],
                    "duration": 10**400,
                },
                "duration must be a number from 0 to 1,000,000,000,000 "
                "(got an integer of over 38 digits)",
            ),
            (
                {
                    "messageType": "call",
                    "id": "c",
                    "conversationId": "c",
                    "transcript": [{"role": "u"}],
                },
                "Call missing 'transcript[0].content'",
            ),
            (
                {"messageType": "sms", "id": "s"},
                "messageType must be one of channel, tool_call, email, call (got 'sms')",
            ),
            (
                {"messageType": "channel", "conversationId": "c", "message": "m", "role": "user"},
                "Channel message missing 'id'",
            ),
        ],
    )
    def test_seed_wording_of_errors(self, event: dict[str, Any], message: str) -> None:
        assert error(DIRECT, event) == message
