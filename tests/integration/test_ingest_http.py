"""The ingest functions through their real handlers (Mangum + Starlette) under moto."""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import uuid
from typing import Any

import pytest

from functions.ingest.app import handler as ingest
from functions.ingest_multi.app import handler as ingest_multi
from functions.records.app import handler as list_records
from shared.body import MAX_BODY_BYTES
from shared.ingest.store import MAX_PAGE_BYTES
from shared.logs import JsonFormatter
from tests.support import Answer, api_event, invoke, records_event

pytestmark = pytest.mark.usefixtures("dynamodb")

INVALID_CURSOR = "'cursor' must be the nextCursor of the previous page of this same list, unchanged"


def encode_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def post(body: Any = None, *, handler: Any = ingest, path: str = "/v1/ingest", **kw: Any) -> Answer:
    return invoke(handler, api_event("POST", path, body=body, **kw))


def records_page(conversation_id: str, tenant: str = "acme", **query: str) -> Answer:
    return invoke(list_records, records_event(conversation_id, tenant=tenant, query=query))


def stored(conversation_id: str, tenant: str = "acme", **query: str) -> list[dict[str, Any]]:
    answer = records_page(conversation_id, tenant, **query)
    assert answer.status == 200, answer.body
    data: list[dict[str, Any]] = answer.body["data"]
    return data


def chat(conversation_id: str, message: str = "hi", **fields: Any) -> dict[str, Any]:
    return {"conversation_id": conversation_id, "role": "user", "message": message, **fields}


def assert_error(answer: Answer, status: int, message: str) -> None:
    assert answer.status == status, answer.body
    assert answer.body["success"] is False
    assert answer.body["count"] == 0
    assert answer.body["message"] == message
    assert answer.body["retryable"] is False
    assert answer.body["requestId"] == answer.headers["x-request-id"]


class TestSuccess:
    def test_seed_000_example(self, conversation_id: str) -> None:
        answer = post(
            {
                "events": [
                    chat(conversation_id, "Hello, how are you?"),
                    {
                        "conversation_id": conversation_id,
                        "role": "assistant",
                        "message": "I am doing well, thank you for asking!",
                        "input_tokens": 8,
                        "output_tokens": 12,
                        "model": "gpt-4o",
                        "provider": "openai",
                    },
                ]
            }
        )
        assert answer.status == 200
        assert answer.body == {
            "success": True,
            "count": 2,
            "requestId": answer.headers["x-request-id"],
        }
        recs = stored(conversation_id)
        assert [r["message"] for r in recs] == [
            "Hello, how are you?",
            "I am doing well, thank you for asking!",
        ]
        assert recs[1]["model"] == "gpt-4o"
        assert {r["request_id"] for r in recs} == {answer.body["requestId"]}

    def test_resending_events_with_ids_or_timestamps_creates_no_duplicates(
        self, conversation_id: str
    ) -> None:
        body = {
            "events": [
                chat(conversation_id, "one", timestamp="2024-01-15T10:30:00.001Z"),
                chat(conversation_id, "two", timestamp="2024-01-15T10:30:00.002Z"),
                {
                    "messageType": "channel",
                    "id": "m-1",
                    "conversationId": conversation_id,
                    "message": "three",
                    "role": "user",
                },
            ]
        }
        assert post(body).status == 200
        assert post(body).status == 200
        assert post(body, gzip_body=True).status == 200
        assert [r["message"] for r in stored(conversation_id)] == ["one", "two", "three"]

    def test_same_id_twice_in_one_request_keeps_the_later(self, conversation_id: str) -> None:
        event = {
            "messageType": "channel",
            "id": "dup",
            "conversationId": conversation_id,
            "role": "user",
        }
        answer = post({"events": [event | {"message": "first"}, event | {"message": "second"}]})
        assert answer.status == 200
        assert answer.body["count"] == 2
        assert [r["message"] for r in stored(conversation_id)] == ["second"]

    def test_gzip_body(self, conversation_id: str) -> None:
        answer = post({"events": [chat(conversation_id)]}, gzip_body=True)
        assert answer.status == 200
        assert len(stored(conversation_id)) == 1

    def test_plain_text_body_as_sam_local_sends_it(self, conversation_id: str) -> None:
        event = api_event("POST", "/v1/ingest", body={"events": [chat(conversation_id)]})
        event["body"] = json.dumps({"events": [chat(conversation_id)]})
        event["isBase64Encoded"] = False
        assert invoke(ingest, event).status == 200

    def test_multi_seed_002_mixed_batch(self, conversation_id: str) -> None:
        thread = f"{conversation_id}-email"
        answer = post(
            {
                "environment": "staging",
                "events": [
                    {
                        "messageType": "channel",
                        "id": "msg-1",
                        "conversationId": conversation_id,
                        "message": "Hi, I need to check on order #456",
                        "role": "user",
                    },
                    {
                        "messageType": "tool_call",
                        "id": "tool-1",
                        "conversationId": conversation_id,
                        "name": "lookup_order",
                        "toolCallRequest": {"order_id": "456"},
                        "toolCallResponse": {"status": "delivered"},
                    },
                    {
                        "messageType": "channel",
                        "id": "msg-2",
                        "conversationId": conversation_id,
                        "message": "Your order #456 was delivered yesterday at 3pm.",
                        "role": "assistant",
                    },
                    {
                        "messageType": "email",
                        "id": "email-1",
                        "inReplyTo": thread,
                        "subject": "Order confirmation",
                        "body": "Your order has been confirmed...",
                        "from": "orders@boardy.com",
                        "to": ["customer@example.com"],
                    },
                ],
            },
            handler=ingest_multi,
            path="/v1/ingest/multi",
        )
        assert answer.status == 200, answer.body
        assert answer.body["details"] == {
            "channel": 2,
            "tool_call": 1,
            "email": 1,
            "call": 0,
            "call_transcript_messages": 0,
        }
        assert answer.body["count"] == 4
        recs = stored(conversation_id)
        assert [r["message_source"] for r in recs] == ["channel", "tool_call", "channel"]
        assert {r["environment"] for r in recs} == {"staging"}
        (email,) = stored(thread)
        assert email["message"] == "Your order has been confirmed..."


class TestRefusals:
    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            (
                b"{not json",
                "Request body is not valid JSON: key must be a string at line 1 column 2",
            ),
            (b"[]", "Request body must be a JSON object with an 'events' array"),
            (
                b'{"events": [1' + b"0" * 4300 + b"]}",  # more digits than anything reads back
                "Request body is not valid JSON: number out of range at line 1 column 4314",
            ),
            (b'{"events": []}', "'events' must contain at least one event"),
        ],
    )
    def test_malformed_bodies_are_400(self, raw: bytes, message: str) -> None:
        assert_error(post(raw_body=raw), 400, message)

    def test_invalid_event_stores_nothing(self, conversation_id: str) -> None:
        answer = post({"events": [chat(conversation_id), chat(conversation_id, role="robot")]})
        message = "role must be one of user, assistant, system (got 'robot')"
        assert_error(answer, 400, f"Event 1: {message}")
        assert answer.body["errors"] == [{"index": 1, "field": "role", "message": message}]
        assert stored(conversation_id) == []

    def test_oversized_message_is_413(self, conversation_id: str) -> None:
        answer = post({"events": [chat(conversation_id, "x" * 102_401)]})
        assert_error(
            answer,
            413,
            "Event 0: message is 102,401 bytes; the limit is 102,400 bytes (100 KB) per message",
        )
        assert stored(conversation_id) == []

    def test_oversized_text_block_is_413(self, conversation_id: str) -> None:
        block = {"type": "text", "text": "x" * 102_401}
        answer = post({"events": [chat(conversation_id, "short", content_blocks=[block])]})
        assert_error(
            answer,
            413,
            "Event 0: content_blocks[0].text is 102,401 bytes; "
            "the limit is 102,400 bytes (100 KB) per message",
        )
        assert stored(conversation_id) == []

    def test_body_over_5_mb_is_413(self) -> None:
        answer = post(raw_body=b" " * (MAX_BODY_BYTES + 1))
        assert answer.status == 413
        assert "5,242,880 bytes" in answer.body["message"]

    def test_gzip_body_over_5_mb_once_decompressed_is_413(self, conversation_id: str) -> None:
        body = json.dumps({"events": [chat(conversation_id, "y" * 100_000)] * 60}).encode()
        assert len(body) > MAX_BODY_BYTES
        event = api_event("POST", "/v1/ingest", raw_body=gzip.compress(body))
        event["headers"]["Content-Encoding"] = "gzip"
        answer = invoke(ingest, event)
        assert answer.status == 413
        assert "once decompressed" in answer.body["message"]
        assert stored(conversation_id) == []

    def test_multi_without_message_type_points_to_v1_ingest(self, conversation_id: str) -> None:
        answer = post(
            {"events": [chat(conversation_id)]}, handler=ingest_multi, path="/v1/ingest/multi"
        )
        assert answer.status == 400
        assert answer.body["message"].startswith("Event 0: missing 'messageType'")
        assert "POST /v1/ingest" in answer.body["message"]

    def test_without_authorizer_context_is_401(self) -> None:
        answer = post({"events": [chat("c")]}, tenant=None)
        assert_error(answer, 401, "Invalid or missing API key")

    def test_unknown_encoding_is_415(self) -> None:
        answer = post({"events": [chat("c")]}, headers={"Content-Encoding": "br"})
        assert answer.status == 415


class TestTenancy:
    def test_tenants_never_see_each_others_records(self, conversation_id: str) -> None:
        assert post({"events": [chat(conversation_id, "acme secret")]}, tenant="acme").status == 200
        assert post({"events": [chat(conversation_id, "globex")]}, tenant="globex").status == 200
        assert [r["message"] for r in stored(conversation_id, "acme")] == ["acme secret"]
        assert [r["message"] for r in stored(conversation_id, "globex")] == ["globex"]

    def test_same_client_ids_do_not_overwrite_across_tenants(self, conversation_id: str) -> None:
        event = {
            "messageType": "channel",
            "id": "shared-id",
            "conversationId": conversation_id,
            "role": "user",
        }
        post({"events": [event | {"message": "acme"}]}, tenant="acme")
        post({"events": [event | {"message": "globex"}]}, tenant="globex")
        assert stored(conversation_id, "acme")[0]["message"] == "acme"


class TestPartialSuccess:
    def test_valid_events_are_stored_and_the_rest_listed(self, conversation_id: str) -> None:
        answer = post(
            {"events": [chat(conversation_id, "ok"), chat(conversation_id, role="bot"), {"x": 1}]},
            headers={"Prefer": "partial-success"},
        )
        assert answer.status == 207
        assert answer.headers["preference-applied"] == "partial-success"
        assert answer.body["success"] is False
        assert answer.body["count"] == 1
        assert answer.body["retryable"] is False
        assert [e["index"] for e in answer.body["errors"]] == [1, 2]
        assert [r["message"] for r in stored(conversation_id)] == ["ok"]

    def test_all_valid_is_a_plain_200(self, conversation_id: str) -> None:
        answer = post({"events": [chat(conversation_id)]}, headers={"Prefer": "partial-success"})
        assert answer.status == 200
        assert answer.body["success"] is True


class TestIdempotencyKey:
    def test_repeat_returns_the_first_response_without_writing(self, conversation_id: str) -> None:
        body = {"events": [chat(conversation_id, "first")]}
        key = {"Idempotency-Key": f"key-{conversation_id}"}
        first = post(body, headers=key)
        assert first.status == 200
        # Delete-free check that nothing is written again: a repeat keeps the first requestId.
        again = post(body, headers=key)
        assert again.status == 200
        assert again.body == first.body
        assert len(stored(conversation_id)) == 1
        assert stored(conversation_id)[0]["request_id"] == first.body["requestId"]

    def test_replay_header_and_body_carry_the_first_request_id(self, conversation_id: str) -> None:
        body = {"events": [chat(conversation_id)]}
        key = {"Idempotency-Key": f"key-{conversation_id}"}
        first = post(body, headers=key)
        event = api_event("POST", "/v1/ingest", body=body, headers=key)
        stream = io.StringIO()
        capture = logging.StreamHandler(stream)
        capture.setFormatter(JsonFormatter())
        logger = logging.getLogger("parley.ingest")
        logger.addHandler(capture)
        logger.setLevel(logging.INFO)
        try:
            again = invoke(ingest, event)
        finally:
            logger.removeHandler(capture)
            logger.setLevel(logging.NOTSET)
        assert again.headers["x-request-id"] == again.body["requestId"] == first.body["requestId"]
        # Marked as a replay (the CLI reports chunks already sent); a first answer is not.
        assert again.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        # The replay's own id is logged beside the one it answered with.
        (line,) = [
            json.loads(text)
            for text in stream.getvalue().splitlines()
            if "idempotent replay" in text
        ]
        assert line["request_id"] == event["requestContext"]["requestId"]
        assert line["replayed_request_id"] == first.body["requestId"]

    def test_repeat_with_another_body_is_422(self, conversation_id: str) -> None:
        key = {"Idempotency-Key": f"key-{conversation_id}"}
        assert post({"events": [chat(conversation_id, "a")]}, headers=key).status == 200
        answer = post({"events": [chat(conversation_id, "b")]}, headers=key)
        assert answer.status == 422
        assert answer.body["retryable"] is False
        assert "different request body" in answer.body["message"]
        assert [r["message"] for r in stored(conversation_id)] == ["a"]

    def test_keys_are_scoped_to_the_tenant(self, conversation_id: str) -> None:
        key = {"Idempotency-Key": f"key-{conversation_id}"}
        assert (
            post({"events": [chat(conversation_id, "a")]}, headers=key, tenant="acme").status == 200
        )
        answer = post({"events": [chat(conversation_id, "b")]}, headers=key, tenant="globex")
        assert answer.status == 200
        assert stored(conversation_id, "globex")[0]["message"] == "b"

    def test_a_refused_request_is_not_remembered(self, conversation_id: str) -> None:
        key = {"Idempotency-Key": f"key-{conversation_id}"}
        assert post({"events": [chat(conversation_id, role="bot")]}, headers=key).status == 400
        assert post({"events": [chat(conversation_id)]}, headers=key).status == 200


class TestReadingBack:
    def test_pages_follow_the_cursor_in_order(self, conversation_id: str) -> None:
        events = [chat(conversation_id, f"m{i:02d}") for i in range(25)]
        assert post({"events": events}).status == 200
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            query = {"limit": "10", **({"cursor": cursor} if cursor else {})}
            answer = records_page(conversation_id, **query)
            pages += 1
            seen += [r["message"] for r in answer.body["data"]]
            cursor = answer.body["nextCursor"]
            if cursor is None:
                break
        assert seen == [f"m{i:02d}" for i in range(25)]
        assert pages == 3

    def test_ordered_by_timestamp_first(self, conversation_id: str) -> None:
        post(
            {
                "events": [
                    chat(conversation_id, "late", timestamp="2024-01-01T10:00:02Z"),
                    chat(conversation_id, "early", timestamp="2024-01-01T10:00:01+00:00"),
                ]
            }
        )
        assert [r["message"] for r in stored(conversation_id)] == ["early", "late"]

    def test_environment_filter(self, conversation_id: str) -> None:
        post(
            {
                "events": [
                    chat(conversation_id, "prod"),
                    chat(conversation_id, "dev", environment="development"),
                ]
            }
        )
        assert [r["message"] for r in stored(conversation_id, environment="development")] == ["dev"]

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"limit": "0"}, "'limit' must be an integer from 1 to 1000 (got '0')"),
            ({"limit": "1001"}, "'limit' must be an integer from 1 to 1000 (got '1001')"),
            ({"limit": "ten"}, "'limit' must be an integer from 1 to 1000 (got 'ten')"),
            (
                {"limit": "\u0661\u0660"},
                "'limit' must be an integer from 1 to 1000 (got '\u0661\u0660')",
            ),
            (
                {"limit": "0" * 5000},
                f"'limit' must be an integer from 1 to 1000 (got '{'0' * 40}…')",
            ),
            (
                {"limit": "1" * 5000},  # past Python's int-conversion limit
                f"'limit' must be an integer from 1 to 1000 (got '{'1' * 40}…')",
            ),
            (
                {"environment": "qa"},
                "'environment' must be one of development, staging, production (got 'qa')",
            ),
            *(
                ({"cursor": cursor}, INVALID_CURSOR)
                for cursor in (
                    "garbage",
                    "é",
                    encode_cursor("["),
                    encode_cursor("[" * 5000),  # nesting
                    encode_cursor("1" * 5000),  # a number past the conversion limit
                    # Keys DynamoDB itself would refuse: an empty or over-long sort key.
                    encode_cursor(json.dumps({"pk": "acme#c", "sk": "", "ok": "x"})),
                    encode_cursor(json.dumps({"pk": "acme#c", "sk": "x", "ok": "y" * 1025})),
                )
            ),
        ],
    )
    def test_bad_query_is_400(self, query: dict[str, str], message: str) -> None:
        answer = records_page("c", **query)
        assert_error(answer, 400, message)

    def test_limit_with_leading_zeros(self, conversation_id: str) -> None:
        post({"events": [chat(conversation_id, str(i)) for i in range(3)]})
        assert len(records_page(conversation_id, limit="0" * 10 + "2").body["data"]) == 2

    @pytest.mark.parametrize("conversation_id", ["", "c" * 201])
    def test_conversation_id_no_record_can_have_is_400(self, conversation_id: str) -> None:
        answer = records_page(conversation_id)
        assert_error(answer, 400, "conversationId must be 1 to 200 characters")

    def test_cursor_cannot_reach_another_tenant(self, conversation_id: str) -> None:
        post({"events": [chat(conversation_id, str(i)) for i in range(3)]}, tenant="globex")
        first = records_page(conversation_id, tenant="globex", **{"limit": "1"})
        cursor = first.body["nextCursor"]
        assert cursor
        stolen = records_page(conversation_id, tenant="acme", **{"cursor": cursor})
        assert stolen.status == 400

    def test_conversation_id_with_an_encoded_slash(self) -> None:
        conversation = f"team/{uuid.uuid4().hex[:8]}"
        assert post({"events": [chat(conversation)]}).status == 200
        answer = records_page(conversation)
        assert answer.status == 200
        assert [r["conversation_id"] for r in answer.body["data"]] == [conversation]

    def test_pages_stop_before_lambdas_response_limit(self, conversation_id: str) -> None:
        big = "x" * 100_000
        for start in range(0, 60, 20):
            events = [chat(conversation_id, f"{i:02d}{big}") for i in range(start, start + 20)]
            assert post({"events": events}).status == 200
        first = records_page(conversation_id, **{"limit": "1000"})
        page = first.body["data"]
        assert 0 < len(page) < 60
        assert sum(len(json.dumps(r)) for r in page) <= MAX_PAGE_BYTES
        assert first.body["nextCursor"]
        rest = stored(conversation_id, cursor=first.body["nextCursor"])
        assert [r["message"][:2] for r in page + rest] == [f"{i:02d}" for i in range(60)]

    def test_unknown_conversation_is_an_empty_page(self) -> None:
        assert stored("never-written") == []
