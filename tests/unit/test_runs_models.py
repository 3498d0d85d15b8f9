"""Runs request models: what they refuse, and the field each refusal names."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

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
        ({"role": "user", "content": "x", "tool_call_id": "c1"}, "tool_call_id"),
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
        assert msg == f"content must not be empty for a {role} message"


def test_a_run_needs_messages_or_content_unless_it_is_active() -> None:
    _, msg = refusal(RunCreate, {"agentName": "Bot", "content": "", "messages": []})
    assert "'messages' or 'content'" in msg
    assert RunCreate.model_validate({"status": "active"}).messages is None
    assert RunCreate.model_validate({"content": "User: hi"}).content == "User: hi"


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
    assert refusal(RunAppend, {**ok, "status": "abandoned"})[0] == "status"
    assert refusal(RunAppend, {**ok, "title": "t"})[0] == "title"
