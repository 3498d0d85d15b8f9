"""The conversations API through its real handlers under moto: create, append, get, list,
insights, tenancy and bad input."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.integration.conversations import (
    append,
    create,
    created_id,
    error,
    fresh_tenant,
    get,
    insights,
    list_,
    open_live,
    run_append,
    run_create,
    run_insights,
)
from tests.support import Answer

ID = re.compile(r"conv_[0-9A-HJKMNP-TV-Z]{26}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SEED_CREATE = {
    "promptId": "prompt_123",
    "content": "User: Hello, I need help\nAssistant: Hi! How can I help you today?",
    "status": "completed",
    "llmModel": "gpt-4o",
}


# --- create ------------------------------------------------------------------------------------


def test_create_answers_as_documented(dynamodb: Any) -> None:
    answer = create(SEED_CREATE)

    assert answer.status == 200, answer.body
    body = answer.body
    assert ID.fullmatch(body["id"])
    assert TIMESTAMP.fullmatch(body["createdAt"])
    assert body == {
        "id": body["id"],
        "promptId": "prompt_123",
        "status": "completed",
        "createdAt": body["createdAt"],
        "_links": {
            "appendMessages": {
                "href": f"/api/v1/conversations/{body['id']}/messages",
                "method": "POST",
                "hint": "Append turns to this conversation. Send status: 'completed' on the "
                "final call to trigger analysis.",
            }
        },
    }
    assert answer.headers["x-request-id"]


def test_created_conversation_reads_back(dynamodb: Any) -> None:
    conversation_id = created_id(SEED_CREATE)

    answer = get(conversation_id)

    assert answer.status == 200, answer.body
    body = answer.body
    assert body["id"] == conversation_id
    assert body["promptId"] == "prompt_123"
    assert body["status"] == "completed"
    assert body["llmModel"] == "gpt-4o"
    assert body["content"] == SEED_CREATE["content"]
    assert body["messages"] == [
        {"role": "user", "content": "Hello, I need help"},
        {"role": "assistant", "content": "Hi! How can I help you today?"},
    ]
    assert body["insights"] is None  # includeInsights defaults to true; none yet
    assert body["hasInsights"] is False
    assert body["title"] == "Hello, I need help"
    assert body["userId"] is None


def test_structured_content_keeps_message_fields_and_metadata(dynamodb: Any) -> None:
    content = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": "Hello",
                "timestamp": "2025-01-20T14:30:00Z",
            },
            {
                "role": "assistant",
                "content": "Hi! How can I help?",
                "model": "gpt-4o",
                "tokens": 7,
                "timestamp": "2025-01-20T14:30:01.5+01:00",
            },
        ],
        "metadata": {"userId": "user_789", "channel": "web", "language": "en"},
    }
    conversation_id = created_id(
        {"promptId": "p", "content": json.dumps(content), "metadata": {"channel": "mobile"}}
    )

    body = get(conversation_id).body

    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello", "timestamp": "2025-01-20T14:30:00.000Z"},
        {
            "role": "assistant",
            "content": "Hi! How can I help?",
            "model": "gpt-4o",
            "tokens": 7,
            "timestamp": "2025-01-20T13:30:01.500Z",
        },
    ]
    # the request's metadata wins over the content's, key by key
    assert body["metadata"] == {"userId": "user_789", "channel": "mobile", "language": "en"}
    assert body["userId"] == "user_789"
    assert body["content"] == "System: Be brief.\nUser: Hello\nAssistant: Hi! How can I help?"


def test_create_keeps_every_optional_field(dynamodb: Any) -> None:
    fields = {
        "promptName": "Support bot",
        "companyName": "Acme",
        "agentId": "agent_1",
        "agentName": "Helper",
        "systemPromptId": "sp_1",
        "userId": "user_1",
        "sessionId": "sess_1",
        "title": "Refund question",
        "traceId": "trace_1",
        "parentTraceId": "trace_0",
        "toolDefinitions": [{"name": "lookup", "parameters": {"type": "object"}}],
    }
    conversation_id = created_id({**SEED_CREATE, **fields})

    body = get(conversation_id).body

    for name, value in fields.items():
        assert body[name] == value, name


def test_an_active_conversation_may_start_empty_or_with_turns(dynamodb: Any) -> None:
    empty = created_id({"promptId": "p", "status": "active", "content": ""})
    assert get(empty).body["messages"] == []
    started = created_id({"promptId": "p", "status": "active", "content": "User: hi"})
    assert get(started).body["messages"] == [{"role": "user", "content": "hi"}]


def test_prompt_name_alone_is_enough(dynamodb: Any) -> None:
    answer = create({"promptName": "free text", "content": "User: hi"})
    assert answer.status == 200, answer.body
    assert answer.body["promptId"] is None
    assert answer.body["promptName"] == "free text"


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"content": "User: hi"}, {"promptId": "Required field"}),
        ({"promptId": "p"}, {"content": "Required field unless status is 'active'"}),
        ({"promptId": "p", "status": "in_progress"}, {"content": None}),
        ({"promptId": 5, "content": "User: hi"}, {"promptId": "Must be a string (got 5)"}),
        ({"promptId": "p", "content": "User: hi", "status": "done"}, {"status": None}),
        ({"promptId": "p", "content": "User: hi", "metadata": []}, {"metadata": None}),
        ({"promptId": "p", "content": "User: hi", "surprise": 1}, {"surprise": "Unknown field"}),
        ({"promptId": "p", "content": "no labels here"}, {"content": None}),
        ({"promptId": "p", "content": "User:\nAssistant:   "}, {"content": None}),
        ({"promptId": "p", "content": json.dumps({"messages": []})}, {"content": None}),
        ({"promptId": "p", "content": ""}, {"content": None}),
        ({"promptId": "p", "content": "{not json"}, {"content": None}),
        (
            {"promptId": "p", "content": json.dumps({"messages": [{"role": "bot"}]})},
            {"content.messages[0].role": None},
        ),
        (
            {"promptId": "p", "content": json.dumps({"messages": [{"role": "user"}]})},
            {"content.messages[0].content": None},
        ),
    ],
)
def test_bad_create_is_a_400_naming_the_field(
    dynamodb: Any, body: dict[str, Any], details: dict[str, Any]
) -> None:
    tenant = fresh_tenant()
    err = error(create(body, tenant), 400, "VALIDATION_ERROR")
    assert set(err["details"]) == set(details), err
    for name, wording in details.items():
        if isinstance(wording, str):
            assert err["details"][name] == wording
    assert list_(tenant).body["pagination"]["total"] == 0  # nothing stored


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[]", b'{"promptId": NaN}', b'"text"'],
    ids=["empty", "cut", "array", "nan", "string"],
)
def test_malformed_bodies_are_400(dynamodb: Any, raw: bytes) -> None:
    err = error(create(None, raw_body=raw), 400, "VALIDATION_ERROR")
    assert err["message"]


def test_gzip_bodies_are_accepted(dynamodb: Any) -> None:
    answer = create(SEED_CREATE, gzip_body=True)
    assert answer.status == 200, answer.body


# --- append ------------------------------------------------------------------------------------

SEED_APPEND = {
    "messages": [
        {"role": "user", "content": "Can you check my order status?"},
        {"role": "assistant", "content": "Sure — what's your order number?"},
    ],
    "status": "active",
    "metadata": {"sessionId": "sess_abc"},
}


def test_live_flow_active_append_complete(dynamodb: Any) -> None:
    conversation_id = open_live(metadata={"channel": "web"}, userId="user_789")

    first = append(conversation_id, SEED_APPEND)
    assert first.status == 200, first.body
    assert first.body["status"] == "active"
    assert first.body["messages"] == SEED_APPEND["messages"]
    assert first.body["metadata"] == {"channel": "web", "sessionId": "sess_abc"}
    assert first.body["userId"] == "user_789"
    assert TIMESTAMP.fullmatch(first.body["updatedAt"])

    tool_turns = [
        {"role": "assistant", "content": "Looking it up", "toolCalls": [{"id": "c1"}]},
        {"role": "tool", "content": "", "toolCalls": [{"id": "c1", "result": "shipped"}]},
        {
            "role": "assistant",
            "content": "It shipped.",
            "usage": {"promptTokens": 10, "completionTokens": 3},
            "latencyMs": 812,
            "metadata": {"confidence": 0.9},
            "custom": {"kept": True},
        },
    ]
    last = append(
        conversation_id,
        {"messages": tool_turns, "status": "completed", "metadata": {"channel": "api"}},
    )
    assert last.status == 200, last.body
    body = last.body
    assert body["status"] == "completed"
    assert body["messages"] == SEED_APPEND["messages"] + tool_turns
    assert body["metadata"] == {"channel": "api", "sessionId": "sess_abc"}
    assert body["content"] == (
        "User: Can you check my order status?\n"
        "Assistant: Sure — what's your order number?\n"
        "Assistant: Looking it up\n"
        "Tool: \n"
        "Assistant: It shipped."
    )
    assert body["updatedAt"] >= first.body["updatedAt"]
    assert get(conversation_id).body == {**body, "insights": None}

    closed = error(append(conversation_id, SEED_APPEND), 409, "CONFLICT")
    assert "completed" in closed["message"]
    assert len(get(conversation_id).body["messages"]) == 5


def test_abandoned_conversations_take_no_more_messages(dynamodb: Any) -> None:
    conversation_id = open_live()
    assert append(conversation_id, {**SEED_APPEND, "status": "abandoned"}).status == 200
    error(append(conversation_id, SEED_APPEND), 409, "CONFLICT")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": []}, "messages"),
        ({}, "messages"),
        ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "   "}]}, "messages[0].content"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "x", "tokens": "3"}]}, "messages[0].tokens"),
        ({"messages": [{"role": "user", "content": "x", "tokens": -1}]}, "messages[0].tokens"),
        (
            {"messages": [{"role": "user", "content": "x", "timestamp": "soon"}]},
            "messages[0].timestamp",
        ),
        ({"messages": [{"role": "user", "content": "x"}], "status": "done"}, "status"),
        ({"messages": [{"role": "user", "content": "x"}], "metadata": "m"}, "metadata"),
        ({"messages": [{"role": "user", "content": "x"}], "extra": 1}, "extra"),
    ],
)
def test_bad_append_is_a_400_and_stores_nothing(
    dynamodb: Any, body: dict[str, Any], field: str
) -> None:
    conversation_id = open_live()
    err = error(append(conversation_id, body), 400, "VALIDATION_ERROR")
    assert field in err["details"], err
    assert get(conversation_id).body["messages"] == []


def test_tool_messages_may_have_no_content(dynamodb: Any) -> None:
    conversation_id = open_live()
    answer = append(conversation_id, {"messages": [{"role": "tool", "toolCalls": [{"id": "x"}]}]})
    assert answer.status == 200, answer.body
    assert answer.body["messages"] == [{"role": "tool", "content": "", "toolCalls": [{"id": "x"}]}]


def id_routes(conversation_id: str) -> list[Answer]:
    """Every route that takes a conversation id in its path, conversations and runs."""
    return [
        get(conversation_id),
        insights(conversation_id),
        append(conversation_id, SEED_APPEND),
        run_append(conversation_id, SEED_APPEND),
        run_insights(conversation_id),
    ]


@pytest.mark.parametrize(
    "unknown_id",
    ["conv_456", "conv_" + "U" * 26, "other", "conv_" + "0" * 27, "conv_" + "x" * 195, "é"],
)
def test_well_formed_ids_that_name_nothing_are_404_on_every_route(
    dynamodb: Any, unknown_id: str
) -> None:
    for answer in id_routes(unknown_id):
        assert error(answer, 404, "NOT_FOUND")["message"] == "Conversation not found"


@pytest.mark.parametrize("bad_id", ["conv_" + "x" * 196, "conv_\x01abc", "conv\tx", "a\x7f"])
def test_ids_that_cannot_be_a_path_segment_are_400_on_every_route(
    dynamodb: Any, bad_id: str
) -> None:
    for answer in id_routes(bad_id):
        err = error(answer, 400, "VALIDATION_ERROR")
        assert set(err["details"]) == {"id"}


def test_unknown_conversation_is_404_on_every_route(dynamodb: Any) -> None:
    missing = "conv_01JHBVX3V8T2Q6R9M4K7N5P0SZ"
    for answer in (get(missing), insights(missing), append(missing, SEED_APPEND)):
        assert error(answer, 404, "NOT_FOUND")["message"] == "Conversation not found"


def test_another_tenants_conversation_is_404_on_every_route(dynamodb: Any) -> None:
    conversation_id = open_live(tenant="acme")
    for answer in (
        get(conversation_id, tenant="globex"),
        insights(conversation_id, tenant="globex"),
        append(conversation_id, SEED_APPEND, tenant="globex"),
    ):
        assert error(answer, 404, "NOT_FOUND")["message"] == "Conversation not found"
    assert get(conversation_id, tenant="acme").body["messages"] == []  # untouched
    assert conversation_id not in {c["id"] for c in list_("globex", {"limit": "100"}).body["data"]}


def test_no_tenant_is_401(dynamodb: Any) -> None:
    error(create(SEED_CREATE, tenant=None), 401, "UNAUTHORIZED")


# --- get and insights --------------------------------------------------------------------------


def test_include_insights_false_leaves_them_out(dynamodb: Any) -> None:
    conversation_id = created_id(SEED_CREATE)
    assert "insights" not in get(conversation_id, query={"includeInsights": "false"}).body
    assert get(conversation_id, query={"includeInsights": "true"}).body["insights"] is None
    err = error(get(conversation_id, query={"includeInsights": "yes"}), 400, "VALIDATION_ERROR")
    assert set(err["details"]) == {"includeInsights"}


def test_insights_are_pending_until_produced(dynamodb: Any) -> None:
    conversation_id = created_id(SEED_CREATE)
    err = error(insights(conversation_id), 404, "NOT_FOUND")
    assert "pending" in err["message"].lower()


LATENCIES = [2**64, 1.79e308, 10**15 + 1, -1, -0.5]  # latencyMs: 0 to 10**15
TOKEN_COUNTS = [2**64, 2**53, 1.79e308, -1, 1.5]  # integers 0 to 2**53 - 1
OUT_OF_RANGE = [
    *[("messages[0].latencyMs", {"latencyMs": v}) for v in LATENCIES],
    *[("messages[0].tokens", {"tokens": v}) for v in TOKEN_COUNTS],
    *[
        (f"messages[0].usage.{name}", {"usage": {name: v}})
        for name in ("promptTokens", "completionTokens", "totalTokens")
        for v in TOKEN_COUNTS
    ],
]


@pytest.mark.parametrize(("field", "fields"), OUT_OF_RANGE)
def test_numbers_out_of_range_are_a_400_naming_the_field_on_every_write(
    dynamodb: Any, field: str, fields: dict[str, Any]
) -> None:
    bad = [{"role": "user", "content": "hi", **fields}]
    conversation_id = open_live()
    structured = json.dumps({"messages": bad})
    answers = [
        (append(conversation_id, {"messages": bad}), field),
        (run_append(conversation_id, {"messages": bad}), field),
        (run_create({"agentName": "Bot", "messages": bad}), field),
        (create({"promptId": "p", "content": structured}), "content." + field),
    ]
    for answer, named in answers:
        assert named in error(answer, 400, "VALIDATION_ERROR")["details"], answer.body
    assert get(conversation_id).body["messages"] == []


def test_numbers_in_range_are_stored_and_echoed_exactly(dynamodb: Any) -> None:
    conversation_id = open_live()
    message = {
        "role": "assistant",
        "content": "hi",
        "latencyMs": 10**15,
        "tokens": 2**53 - 1,
        "usage": {"promptTokens": 0, "cost": 1.79e308, "big": 2**64},
        "metadata": {"ratio": 0.1, "huge": 18446744073709551616},
    }
    answer = append(conversation_id, {"messages": [message]})
    assert answer.status == 200, answer.body
    assert answer.body["messages"] == [message]
    assert get(conversation_id).body["messages"] == [message]


def test_list_rows_carry_title_counts_and_what_produced_them(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    # Opened empty by an agent: no title until its first user message is appended.
    live = open_live(tenant, agentName="Support bot", llmModel="gpt-4o")
    assert list_(tenant).body["data"][0]["title"] is None
    append(live, {"messages": [{"role": "assistant", "content": "Hi, how can I help?"}]}, tenant)
    assert list_(tenant).body["data"][0]["title"] is None
    turns = [{"role": "user", "content": "Where is my parcel?\nIt was due Monday."}]
    assert append(live, {"messages": turns}, tenant).status == 200
    named = created_id({"promptName": "Refunds", "content": "User: Refund please"}, tenant)
    titled = created_id({**SEED_CREATE, "title": "Chosen title"}, tenant)

    rows = {row["id"]: row for row in list_(tenant).body["data"]}

    assert rows[live]["title"] == "Where is my parcel?"  # the first line of the first user turn
    assert rows[live]["messageCount"] == 2
    assert rows[live]["agentName"] == "Support bot"
    assert rows[live]["agentId"]  # the agent the name was linked to
    assert rows[live]["llmModel"] == "gpt-4o"
    assert rows[live]["updatedAt"] >= rows[live]["createdAt"]
    assert rows[named]["title"] == "Refund please"
    assert rows[named]["promptName"] == "Refunds"
    assert rows[named]["messageCount"] == 1
    assert rows[titled]["title"] == "Chosen title"
    assert rows[titled]["promptId"] == "prompt_123"
    assert rows[titled]["agentName"] is None
    for row in rows.values():  # the same fields as the conversation itself
        whole = get(row["id"], tenant).body
        assert (row["title"], row["messageCount"]) == (whole["title"], whole["messageCount"])
