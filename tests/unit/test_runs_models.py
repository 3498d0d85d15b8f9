"""Runs request models: what they refuse, and the field each refusal names."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from shared.conversations.models import NewConversation
from shared.errors import BadRequest
from shared.runs.models import RunAppend, RunCreate, RunMessage


def refusal(model: type[RunCreate | RunAppend | RunMessage], body: Any) -> tuple[str, str]:
    """(dotted location, message) of the first error."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    first = caught.value.errors()[0]
    return ".".join(str(p) for p in first["loc"]), first["msg"]


def test_both_spellings_of_one_message_key_are_refused() -> None:
    loc, msg = refusal(
        RunMessage, {"role": "user", "content": "x", "latencyMs": 1, "latency_ms": 2}
    )
    assert msg == "send 'latencyMs' or 'latency_ms', not both"
    loc, msg = refusal(
        RunMessage,
        {"role": "user", "content": "x", "usage": {"promptTokens": 1, "prompt_tokens": 1}},
    )
    assert loc == "usage"
    assert "promptTokens" in msg


def test_snake_case_and_camel_case_messages_are_equal() -> None:
    camel = {"role": "assistant", "content": "x", "toolCalls": [{"name": "f"}], "latencyMs": 5}
    snake = {"role": "assistant", "content": "x", "tool_calls": [{"name": "f"}], "latency_ms": 5}
    assert RunMessage.model_validate(camel) == RunMessage.model_validate(snake)


@pytest.mark.parametrize(
    ("message", "where"),
    [
        ({"role": "developer", "content": "x"}, "role"),
        ({"role": "user"}, "content"),
        ({"role": "user", "content": ["block"]}, "content"),
        ({"role": "user", "content": "x", "tokens": -1}, "tokens"),
        ({"role": "user", "content": "x", "tokens": True}, "tokens"),
        ({"role": "user", "content": "x", "latencyMs": -0.5}, "latencyMs"),
        ({"role": "user", "content": "x", "timestamp": "yesterday"}, "timestamp"),
        ({"role": "user", "content": "x", "toolCalls": ["f"]}, "toolCalls.0"),
        ({"role": "user", "content": "x", "usage": {"promptTokens": "1"}}, "usage.promptTokens"),
    ],
)
def test_bad_messages_name_the_field(message: dict[str, Any], where: str) -> None:
    loc, _ = refusal(RunCreate, {"agentName": "Bot", "messages": [message]})
    assert loc == f"messages.0.{where}"


def test_empty_text_only_for_tool_results_and_tool_only_replies() -> None:
    for role in ("tool", "assistant"):
        assert RunMessage.model_validate({"role": role, "content": ""}).content == ""
    for role in ("user", "system"):
        _, msg = refusal(RunMessage, {"role": role, "content": ""})
        assert msg == f"must not be empty for a {role} message"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agentName": "Bot", "content": "", "messages": []}, "messages"),
        ({"agentName": "Bot"}, "messages"),
        ({"content": "User:"}, "content"),  # a label with no text is no turn
        ({"content": '{"messages": []}'}, "content"),
    ],
)
def test_a_run_without_messages_must_be_active(body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        new_conversation(**body)
    assert refused.value.details is not None
    assert list(refused.value.details) == [field]
    assert new_conversation(**body, status="active").messages == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"content": "User: hi", "status": "done"}, "status"),
        ({"content": "User: hi", "agentName": ""}, "agentName"),
        ({"content": "User: hi", "agentId": 7}, "agentId"),
        ({"content": "User: hi", "promptId": "p1"}, "promptId"),
        ({"content": "User: hi", "metadata": []}, "metadata"),
        ({"content": "x", "toolDefinitions": [{"description": "d"}]}, "toolDefinitions.0.name"),
        (
            {"content": "x", "toolDefinitions": [{"name": "f", "input_schema": {}}]},
            "toolDefinitions.0.input_schema",
        ),
    ],
)
def test_bad_runs_name_the_field(body: dict[str, Any], where: str) -> None:
    assert refusal(RunCreate, body)[0] == where


def test_append_needs_a_message_and_a_known_status() -> None:
    assert refusal(RunAppend, {"messages": []})[0] == "messages"
    ok = {"messages": [{"role": "user", "content": "x"}]}
    assert refusal(RunAppend, {**ok, "status": "done"})[0] == "status"
    assert refusal(RunAppend, {**ok, "title": "t"})[0] == "title"


def test_other_message_keys_are_kept_as_sent() -> None:
    message = RunMessage.model_validate(
        {"role": "tool", "content": "", "tool_call_id": "c1", "name": "lookup_order"}
    )
    assert message.stored() == {
        "role": "tool",
        "content": "",
        "tool_call_id": "c1",
        "name": "lookup_order",
    }


def new_conversation(**body: Any) -> NewConversation:
    return RunCreate.model_validate(body).to_new_conversation()


def test_messages_are_the_conversation_and_content_only_their_rendering() -> None:
    new = new_conversation(
        agentName="Support Bot",
        content="User: Hi\nAI: Hello!",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!", "latency_ms": 3},
        ],
    )
    assert [m.stored() for m in new.messages] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!", "latencyMs": 3},
    ]


def test_content_alone_is_read_as_on_the_conversations_api() -> None:
    mixed = new_conversation(content="User: Hi\nAI: Hello!\nUser: Bye\nAssistant: Bye!")
    assert [(m.role, m.content) for m in mixed.messages] == [
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "Bye"),
        ("assistant", "Bye!"),
    ]
    structured = new_conversation(
        content='{"messages": [{"role": "user", "content": "Hi"}], "metadata": {"a": 1, "b": 1}}',
        metadata={"b": 2},
    )
    assert [m.content for m in structured.messages] == ["Hi"]
    assert structured.metadata == {"a": 1, "b": 2}  # the request's own metadata wins


def test_run_fields_become_conversation_attributes() -> None:
    new = new_conversation(
        agentId="agent_1",
        status="active",
        llmModel="gpt-4o",
        userId="u1",
        sessionId="s1",
        title="T",
        traceId="t1",
        parentTraceId="t0",
        toolDefinitions=[{"name": "f"}, {"name": "g", "parameters": {}}],
    )
    assert new.messages == []
    assert (new.status, new.prompt_id, new.prompt_name) == ("active", None, None)
    assert new.attributes() == {
        "llmModel": "gpt-4o",
        "agentId": "agent_1",
        "userId": "u1",
        "sessionId": "s1",
        "title": "T",
        "traceId": "t1",
        "parentTraceId": "t0",
        "toolDefinitions": [{"name": "f"}, {"name": "g", "parameters": {}}],
    }


def test_an_append_sets_only_the_fields_it_sends() -> None:
    ok = {"messages": [{"role": "user", "content": "x"}]}
    assert RunAppend.model_validate(ok).attributes() == {}
    append = RunAppend.model_validate({**ok, "sessionId": "s2", "toolDefinitions": [{"name": "f"}]})
    assert append.attributes() == {"sessionId": "s2", "toolDefinitions": [{"name": "f"}]}
