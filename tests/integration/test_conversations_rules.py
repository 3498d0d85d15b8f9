"""Idempotency keys (with a controlled clock), size limits at and one past each bound, and
listing (filters, order, exact totals, offset and cursor), through the real handlers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import services
from shared.conversations import limits
from shared.conversations.service import ConversationService
from shared.conversations.store import ConversationStore
from shared.dynamo import default_client
from shared.settings import get_settings
from tests.integration.conversations import (
    append,
    create,
    created_id,
    error,
    fresh_tenant,
    get,
    list_,
    open_live,
)

KB = 1024


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 20, 14, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> Clock:
    """The functions' service, on a clock the test moves."""
    clock = Clock()
    store = ConversationStore(default_client(), get_settings().conversations_table)
    service = ConversationService(store, get_settings().idempotency_ttl_hours * 3600, clock)
    monkeypatch.setattr(services, "conversation_service", lambda: service)
    return clock


# --- idempotency -------------------------------------------------------------------------------


def keyed(key: str, **fields: Any) -> dict[str, Any]:
    return {
        "promptId": "prompt_123",
        "content": "User: Hello\nAssistant: Hi!",
        **fields,
        "idempotencyKey": key,
    }


def test_a_repeat_returns_the_first_conversation(clock: Clock) -> None:
    tenant = fresh_tenant()
    first = create(keyed("session_abc123_1705764600"), tenant)
    assert first.status == 200, first.body
    clock.now += timedelta(hours=23, minutes=59)

    repeat = create(keyed("session_abc123_1705764600"), tenant)

    assert repeat.status == 200, repeat.body
    assert repeat.body == first.body
    assert list_(tenant).body["pagination"]["total"] == 1


def test_a_repeat_answers_the_status_it_was_created_with(clock: Clock) -> None:
    tenant = fresh_tenant()
    first = create(keyed("k", status="active"), tenant)
    append(
        first.body["id"],
        {"messages": [{"role": "user", "content": "x"}], "status": "completed"},
        tenant,
    )
    assert create(keyed("k", status="active"), tenant).body == first.body


def test_a_repeat_with_another_body_is_409(clock: Clock) -> None:
    tenant = fresh_tenant()
    assert create(keyed("k1"), tenant).status == 200
    err = error(create(keyed("k1", llmModel="gpt-4o"), tenant), 409, "CONFLICT")
    assert err["details"] == {"idempotencyKey": "Already used with a different body"}
    assert list_(tenant).body["pagination"]["total"] == 1


def test_a_key_expires_after_24_hours(clock: Clock) -> None:
    tenant = fresh_tenant()
    first = create(keyed("k2"), tenant).body
    clock.now += timedelta(hours=24)

    again = create(keyed("k2", llmModel="other body is fine now"), tenant)

    assert again.status == 200, again.body
    assert again.body["id"] != first["id"]
    assert list_(tenant).body["pagination"]["total"] == 2
    # and the new claim holds for the next 24 hours
    clock.now += timedelta(hours=1)
    assert create(keyed("k2", llmModel="other body is fine now"), tenant).body == again.body


def test_keys_are_scoped_to_the_tenant(clock: Clock) -> None:
    one, two = fresh_tenant(), fresh_tenant()
    first = create(keyed("shared-key"), one).body
    second = create(keyed("shared-key", llmModel="different"), two)
    assert second.status == 200, second.body
    assert second.body["id"] != first["id"]


def test_bad_keys_are_400(dynamodb: Any) -> None:
    for key in ("", "x" * 256):
        err = error(create(keyed(key)), 400, "VALIDATION_ERROR")
        assert set(err["details"]) == {"idempotencyKey"}


# --- limits ------------------------------------------------------------------------------------


def text_of(size: int) -> str:
    return "x" * size


def turns(count: int, size: int) -> list[dict[str, Any]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text_of(size)}
        for i in range(count)
    ]


def structured(messages: list[dict[str, Any]]) -> str:
    return json.dumps({"messages": messages}, ensure_ascii=False)


def test_a_message_of_exactly_100_kb_is_stored_and_one_byte_more_is_413(dynamodb: Any) -> None:
    conversation_id = open_live()
    at = append(conversation_id, {"messages": turns(1, 100 * KB)})
    assert at.status == 200, at.body
    err = error(
        append(conversation_id, {"messages": turns(1, 100 * KB + 1)}), 413, "PAYLOAD_TOO_LARGE"
    )
    assert "102,401" in err["message"]
    assert "102,400" in err["message"]
    assert set(err["details"]) == {"messages[0].content"}
    assert len(get(conversation_id).body["messages"]) == 1


def test_multibyte_text_counts_in_utf8_bytes(dynamodb: Any) -> None:
    conversation_id = open_live()
    euro = "€" * (100 * KB // 3 + 1)  # 3 bytes each: one past the limit in bytes
    err = error(
        append(conversation_id, {"messages": [{"role": "user", "content": euro}]}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert f"{len(euro.encode()):,}" in err["message"]


def test_create_content_field_of_exactly_512_kb_is_accepted_one_more_byte_is_413(
    dynamodb: Any,
) -> None:
    # 6 turns of "User: " + text + "\n" ... sized so the field is exactly 512 KB.
    lines = [f"User: {text_of(90 * KB)}" for _ in range(5)]
    head = "\n".join(lines) + "\nUser: "
    content = head + text_of(limits.MAX_CONTENT_BYTES - len(head))
    assert len(content.encode()) == limits.MAX_CONTENT_BYTES
    at = create({"promptId": "p", "content": content})
    assert at.status == 200, at.body
    assert get(at.body["id"]).body["content"] == content

    tenant = fresh_tenant()
    err = error(
        create({"promptId": "p", "content": content + "x"}, tenant), 413, "PAYLOAD_TOO_LARGE"
    )
    assert "524,289" in err["message"]
    assert "524,288" in err["message"]
    assert list_(tenant).body["pagination"]["total"] == 0


def test_500_messages_near_512_kb_store_and_read_back_intact(dynamodb: Any) -> None:
    # 1,000 bytes of text each (2-byte characters): the JSON form is 517,590 bytes of content.
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i:04d}" + "é" * 498}
        for i in range(500)
    ]
    content = structured(messages)
    assert limits.MAX_CONTENT_BYTES - 10 * KB < len(content.encode()) <= limits.MAX_CONTENT_BYTES
    conversation_id = created_id({"promptId": "p", "content": content})

    body = get(conversation_id).body

    assert body["messages"] == messages
    assert body["messageCount"] == 500
    assert body["content"].count("\n") == 499


def test_500_messages_is_the_limit_on_create_and_on_append(dynamodb: Any) -> None:
    conversation_id = created_id(
        {"promptId": "p", "status": "in_progress", "content": structured(turns(499, 10))}
    )
    assert append(conversation_id, {"messages": turns(1, 10)}).status == 200
    err = error(append(conversation_id, {"messages": turns(1, 10)}), 413, "PAYLOAD_TOO_LARGE")
    assert "501 messages" in err["message"]
    assert "500 messages" in err["message"]
    assert len(get(conversation_id).body["messages"]) == 500

    tenant = fresh_tenant()
    err = error(
        create({"promptId": "p", "content": structured(turns(501, 1))}, tenant),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert "501" in err["message"]


def test_an_append_past_512_kb_of_content_is_refused_whole(dynamodb: Any) -> None:
    conversation_id = open_live()
    five = turns(5, 100 * KB)  # 512,000 bytes
    assert append(conversation_id, {"messages": five}).status == 200
    rest = limits.MAX_CONTENT_BYTES - 5 * 100 * KB
    exact = append(conversation_id, {"messages": turns(1, rest)})
    assert exact.status == 200, exact.body
    over = append(conversation_id, {"messages": [*turns(1, 10), *turns(1, 1)]})
    err = error(over, 413, "PAYLOAD_TOO_LARGE")
    assert "524,288" in err["message"]
    assert len(get(conversation_id).body["messages"]) == 6


def tool_message(stored_bytes: int) -> dict[str, Any]:
    """A tool message whose stored JSON is exactly `stored_bytes` long."""
    overhead = len(json.dumps(tool_result(""), separators=(",", ":")).encode())
    return tool_result("y" * (stored_bytes - overhead))


def tool_result(text: str) -> dict[str, Any]:
    return {"role": "tool", "content": "", "toolCalls": [{"result": text}]}


def test_a_message_with_its_fields_at_300_000_bytes_is_stored_one_more_is_413(
    dynamodb: Any,
) -> None:
    conversation_id = open_live()
    at = append(conversation_id, {"messages": [tool_message(limits.MAX_STORED_MESSAGE_BYTES)]})
    assert at.status == 200, at.body
    over = tool_message(limits.MAX_STORED_MESSAGE_BYTES + 1)
    err = error(append(conversation_id, {"messages": [over]}), 413, "PAYLOAD_TOO_LARGE")
    assert set(err["details"]) == {"messages[0]"}
    assert "300,001" in err["message"]
    assert len(get(conversation_id).body["messages"]) == 1


def test_a_conversation_stored_at_3_mb_is_readable_one_more_byte_is_413(dynamodb: Any) -> None:
    conversation_id = open_live()
    ten = [tool_message(limits.MAX_STORED_MESSAGE_BYTES) for _ in range(10)]  # 3,000,000 bytes
    at = append(conversation_id, {"messages": ten})
    assert at.status == 200, at.body
    assert at.body["messages"] == ten
    err = error(append(conversation_id, {"messages": [tool_result("")]}), 413, "PAYLOAD_TOO_LARGE")
    assert "3,000,000" in err["message"]
    assert get(conversation_id).body["messages"] == ten


def test_metadata_and_fields_are_bounded_on_create_and_after_merging(dynamodb: Any) -> None:
    big = {"notes": "n" * (limits.MAX_FIELDS_BYTES // 2)}
    tenant = fresh_tenant()
    over = {**big, "more": "m" * (limits.MAX_FIELDS_BYTES // 2)}
    err = error(
        create({"promptId": "p", "status": "active", "metadata": over}, tenant),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert set(err["details"]) == {"metadata"}
    assert list_(tenant).body["pagination"]["total"] == 0

    conversation_id = open_live(metadata=big)
    err = error(
        append(conversation_id, {"messages": turns(1, 1), "metadata": {"more": over["more"]}}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert "200,000" in err["message"]
    body = get(conversation_id).body
    assert body["metadata"] == big
    assert body["messages"] == []


# --- list --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed(dynamodb: Any) -> tuple[str, list[str]]:
    """A tenant with 7 conversations (oldest first): mixed prompts and statuses."""
    tenant = fresh_tenant()
    ids = []
    for i in range(7):
        status = "completed" if i % 2 == 0 else "active"
        body: dict[str, Any] = {"promptId": f"prompt_{i % 3}", "status": status}
        if status == "completed":
            body["content"] = f"User: hello {i}"
        ids.append(created_id(body, tenant))
    return tenant, ids


def ids_of(answer: Any) -> list[str]:
    assert answer.status == 200, answer.body
    return [c["id"] for c in answer.body["data"]]


def test_list_is_newest_first_with_an_exact_total(listed: tuple[str, list[str]]) -> None:
    tenant, ids = listed
    answer = list_(tenant)
    assert ids_of(answer) == ids[::-1]
    assert answer.body["pagination"] == {"total": 7, "limit": 20, "offset": 0, "nextCursor": None}
    assert set(answer.body["data"][0]) == {
        *("id", "promptId", "status", "hasInsights", "createdAt"),
        # What a list row shows (docs/console.md).
        *("title", "messageCount", "updatedAt", "promptName", "agentId", "agentName", "llmModel"),
    }


def test_list_filters(listed: tuple[str, list[str]]) -> None:
    tenant, ids = listed
    by_prompt = list_(tenant, {"promptId": "prompt_1"})
    assert ids_of(by_prompt) == [ids[4], ids[1]]
    assert by_prompt.body["pagination"]["total"] == 2
    active = list_(tenant, {"status": "active"})
    assert ids_of(active) == [ids[5], ids[3], ids[1]]
    both = list_(tenant, {"status": "completed", "promptId": "prompt_0"})
    assert ids_of(both) == [ids[6], ids[0]]
    assert ids_of(list_(tenant, {"hasInsights": "true"})) == []
    without = list_(tenant, {"hasInsights": "false", "limit": "2"})
    assert ids_of(without) == [ids[6], ids[5]]
    assert without.body["pagination"]["total"] == 7


def test_list_offset_and_cursor_pages(listed: tuple[str, list[str]]) -> None:
    tenant, ids = listed
    newest = ids[::-1]
    second = list_(tenant, {"limit": "3", "offset": "3"})
    assert ids_of(second) == newest[3:6]
    assert second.body["pagination"]["offset"] == 3
    assert second.body["pagination"]["total"] == 7

    seen: list[str] = []
    query = {"limit": "3"}
    while True:
        page = list_(tenant, query)
        seen += ids_of(page)
        cursor = page.body["pagination"]["nextCursor"]
        if cursor is None:
            break
        query = {"limit": "3", "cursor": cursor}
    assert seen == newest

    last = list_(tenant, {"limit": "7"})
    assert last.body["pagination"]["nextCursor"] is None
    assert ids_of(list_(tenant, {"offset": "7"})) == []


def test_a_cursor_never_reaches_another_tenant(listed: tuple[str, list[str]]) -> None:
    tenant, _ = listed
    cursor = list_(tenant, {"limit": "1"}).body["pagination"]["nextCursor"]
    other = fresh_tenant()
    created_id({"promptId": "p", "content": "User: mine"}, other)
    # Signed for its tenant and list: another tenant's, or another filter's, is a 400.
    err = error(list_(other, {"cursor": cursor}), 400, "VALIDATION_ERROR")
    assert set(err["details"]) == {"cursor"}
    err = error(list_(tenant, {"cursor": cursor, "status": "active"}), 400, "VALIDATION_ERROR")
    assert set(err["details"]) == {"cursor"}
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    error(list_(tenant, {"cursor": tampered}), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"status": "done"}, "status"),
        ({"hasInsights": "maybe"}, "hasInsights"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"promptId": ""}, "promptId"),
    ],
)
def test_bad_list_queries_are_400(dynamodb: Any, query: dict[str, str], field: str) -> None:
    err = error(list_(query=query), 400, "VALIDATION_ERROR")
    assert set(err["details"]) == {field}


def test_limit_bounds_are_accepted(listed: tuple[str, list[str]]) -> None:
    tenant, _ids = listed
    assert len(ids_of(list_(tenant, {"limit": "1"}))) == 1
    assert len(ids_of(list_(tenant, {"limit": "100"}))) == 7
