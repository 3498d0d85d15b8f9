"""What the real `converra` SDK sends is what the runs models accept, and what the runs family
answers is what the SDK reads. The SDK talks to a recording server on 127.0.0.1; no storage."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from converra import (
    Converra,
    ConversationInsightsUnavailable,
    ConversationMessage,
    ToolCall,
    ToolDefinition,
    Usage,
)

from shared.conversations.models import Conversation
from shared.insights.sdk import sdk_insights
from shared.runs.models import RunAppend, RunCreate
from shared.runs.sdk_endpoints import NO_AGENT_MATCH, SDK_CONFIG, check_match_body
from shared.runs.views import data
from tests.converra_fakes import OPENAI_PATH, FakeServer, Seen, chat_completion, fake_server

RUN_ID = "conv_01JD0000000000000000000000"
ROOT = Path(__file__).resolve().parents[2]


def _completion(seen: Seen) -> tuple[int, Any]:
    last = seen.body["messages"][-1]["content"]
    if last == "Where is order 456?":
        return 200, chat_completion(None, seen.body["model"], tool_call=True)
    return 200, chat_completion(f"echo: {last}", seen.body["model"])


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    answers = {
        "GET /api/v1/sdk/config": lambda _: (200, data(SDK_CONFIG)),
        "POST /api/v1/sdk/agents/match": lambda _: (200, data(NO_AGENT_MATCH)),
        "POST /api/v1/runs": lambda _: (200, data({"id": RUN_ID})),
        f"POST /api/v1/runs/{RUN_ID}/messages": lambda _: (200, data({"id": RUN_ID})),
        f"GET /api/v1/runs/{RUN_ID}/insights": lambda _: (
            200,
            data(sdk_insights(conversation(status="active", prompt_id="prompt_1"))),
        ),
        f"POST {OPENAI_PATH}": _completion,
    }
    with fake_server(answers) as server:
        yield server


def sdk(fake: FakeServer) -> Converra:
    return Converra(api_key="prl_test-key", base_url=f"{fake.url}/api/v1/")


def last_body(fake: FakeServer, method: str, path: str) -> Any:
    return fake.sent(method, path)[-1]


def test_init_reads_the_config_as_simulation_with_nothing_to_optimize(fake: FakeServer) -> None:
    client = sdk(fake).init()
    try:
        assert client.testing_mode == "simulation"
        request = next(s for s in fake.seen if s.path == "/api/v1/sdk/config")
        assert request.headers["authorization"] == "Bearer prl_test-key"
    finally:
        client.shutdown()


def test_agent_match_answer_is_read_as_no_match(fake: FakeServer) -> None:
    client = sdk(fake)
    try:
        assert client.resolver.match_agent("You are a support agent.") is None
        body = last_body(fake, "POST", "/api/v1/sdk/agents/match")
        assert body == {"content": "You are a support agent."}
        check_match_body(body)
    finally:
        client.shutdown()


def test_full_send_with_dataclasses_and_plain_snake_case_dicts(fake: FakeServer) -> None:
    client = sdk(fake)
    try:
        result = client.send(
            agent="Support Bot",
            messages=[
                ConversationMessage(role="system", content="You are helpful."),
                {"role": "user", "content": "Where is my order?", "timestamp": "2025-01-20"},
                ConversationMessage(
                    role="assistant",
                    content="Let me check.",
                    model="gpt-4o",
                    tool_calls=[ToolCall("lookup_order", {"order": "456"}, "shipped", id="c1")],
                    usage=Usage(prompt_tokens=200, completion_tokens=85),
                    latency_ms=1200,
                ),
                {
                    "role": "assistant",
                    "content": "It shipped.",
                    "tool_calls": [{"name": "notify", "arguments": {}}],
                    "usage": {
                        "prompt_tokens": 10,
                        "completion_tokens": 3,
                        "total_tokens": 13,
                        "prompt_tokens_details": {"cached_tokens": 2},
                    },
                    "latency_ms": 80.5,
                },
            ],
            user_id="customer_acme",
            session_id="sess_1",
            title="Order status",
            metadata={"channel": "web"},
            tool_definitions=[ToolDefinition("lookup_order", "Find an order", {"type": "object"})],
            trace_id="trace_1",
            parent_trace_id="trace_0",
        )
    finally:
        client.shutdown()
    assert result.conversation_id == RUN_ID
    run = RunCreate.model_validate(last_body(fake, "POST", "/api/v1/runs"))
    assert run.agentName == "Support Bot"
    assert run.agentId is None
    assert run.status == "completed"
    assert run.content == "User: Where is my order?\nAI: Let me check.\nAI: It shipped."
    assert (run.userId, run.sessionId, run.title) == ("customer_acme", "sess_1", "Order status")
    assert (run.traceId, run.parentTraceId) == ("trace_1", "trace_0")
    assert run.metadata == {"channel": "web", "source": "sdk"}
    assert run.toolDefinitions is not None
    assert run.toolDefinitions[0].model_dump(exclude_none=True) == {
        "name": "lookup_order",
        "description": "Find an order",
        "parameters": {"type": "object"},
    }
    assert run.messages is not None
    system, user, checked, shipped = run.messages
    assert system.role == "system"
    assert user.timestamp == "2025-01-20T00:00:00.000Z"
    # camelCase from the SDK's dataclasses and snake_case from plain dicts read the same way
    assert checked.toolCalls == [
        {"name": "lookup_order", "arguments": {"order": "456"}, "id": "c1", "result": "shipped"}
    ]
    assert checked.usage is not None
    assert (checked.usage.promptTokens, checked.usage.completionTokens) == (200, 85)
    assert (checked.latencyMs, checked.model) == (1200, "gpt-4o")
    assert shipped.toolCalls == [{"name": "notify", "arguments": {}}]
    assert shipped.usage is not None
    assert shipped.stored()["usage"] == {
        "promptTokens": 10,
        "completionTokens": 3,
        "totalTokens": 13,
        "prompt_tokens_details": {"cached_tokens": 2},
    }
    assert shipped.latencyMs == 80.5


def test_live_run_then_appends(fake: FakeServer) -> None:
    client = sdk(fake)
    try:
        opened = client.send(
            agent="Chat Bot", messages=[{"role": "user", "content": "Hi"}], status="active"
        )
        client.send(
            agent="Chat Bot",
            conversation_id=opened.conversation_id,
            messages=[ConversationMessage(role="assistant", content="Hello!", latency_ms=12)],
            session_id="sess_2",
            metadata={"step": 2},
        )
        client.send(
            agent="Chat Bot",
            conversation_id=opened.conversation_id,
            messages=[{"role": "user", "content": "Thanks"}],
            status="completed",
        )
    finally:
        client.shutdown()
    assert RunCreate.model_validate(last_body(fake, "POST", "/api/v1/runs")).status == "active"
    second, third = fake.sent("POST", f"/api/v1/runs/{RUN_ID}/messages")[-2:]
    append = RunAppend.model_validate(second)
    assert (append.sessionId, append.metadata, append.status) == ("sess_2", {"step": 2}, None)
    assert append.messages[0].latencyMs == 12
    assert RunAppend.model_validate(third).status == "completed"


def test_wrapped_openai_calls_are_captured_as_runs(fake: FakeServer) -> None:
    client = sdk(fake)
    llm = client.wrap(openai.OpenAI(api_key="sk-test", base_url=f"{fake.url}/openai/v1"))
    before = len(fake.sent("POST", "/api/v1/runs"))
    try:
        reply = llm.chat.completions.create(  # type: ignore[attr-defined]
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You are a support agent."},
                {"role": "user", "content": "Hello"},
            ],
        )
        llm.chat.completions.create(  # type: ignore[attr-defined]
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Where is order 456?"}]
        )
    finally:
        client.shutdown()  # flushes the background capture
    assert reply.choices[0].message.content == "echo: Hello"
    captured = [RunCreate.model_validate(b) for b in fake.sent("POST", "/api/v1/runs")[before:]]
    assert len(captured) == 2
    first, tools_only = captured
    assert (first.agentName, first.agentId, first.userId) == (None, None, "sdk")
    assert first.llmModel == "gpt-4o-mini"
    assert first.metadata is not None
    assert first.metadata["source"] == "sdk"
    assert first.metadata["variantId"] is None
    assert first.messages is not None
    assert [(m.role, m.content) for m in first.messages] == [
        ("system", "You are a support agent."),
        ("user", "Hello"),
        ("assistant", "echo: Hello"),
    ]
    assert first.messages[-1].usage is not None
    assert first.messages[-1].usage.promptTokens == 21
    # a completion that only called a tool is captured with an empty reply: still accepted
    assert tools_only.messages is not None
    assert (tools_only.messages[-1].role, tools_only.messages[-1].content) == ("assistant", "")


def conversation(status: str, prompt_id: str | None, **fields: Any) -> Conversation:
    return Conversation(
        id=RUN_ID,
        status=status,
        created_status=status,
        created_at="2024-01-15T10:00:00.000Z",
        updated_at="2024-01-15T10:00:00.000Z",
        prompt_id=prompt_id,
        attributes={},
        metadata={},
        message_count=1,
        content_bytes=2,
        stored_bytes=2,
        version=1,
        has_insights=False,
        **fields,
    )


@pytest.mark.parametrize(
    ("prompt_id", "status", "fields", "expected"),
    [
        ("prompt_1", "active", {}, "pending"),
        ("prompt_1", "completed", {}, "pending"),
        ("prompt_1", "abandoned", {}, "skipped"),
        (None, "completed", {}, "skipped"),
        ("prompt_1", "completed", {"insights_failure": "boom"}, "failed"),
    ],
)
def test_insights_status_forms_are_what_the_sdk_parses(
    prompt_id: str | None, status: str, fields: dict[str, Any], expected: str
) -> None:
    parsed = ConversationInsightsUnavailable.from_dict(
        sdk_insights(conversation(status, prompt_id, **fields))
    )
    assert (parsed.conversation_id, parsed.status) == (RUN_ID, expected)
    assert parsed.message


def test_get_run_insights_reads_the_pending_form(fake: FakeServer) -> None:
    client = sdk(fake)
    try:
        result = client.get_run_insights(RUN_ID)
    finally:
        client.shutdown()
    assert isinstance(result, ConversationInsightsUnavailable)
    assert result.status == "pending"


def test_sdk_config_and_agent_match_functions_load_no_conversations_code() -> None:
    """They answer constants: a cold start must not pay for the conversations models."""
    probe = (
        "import sys, functions.sdk_config.app, functions.agents_match.app; "
        "print(sorted(m for m in sys.modules if m.startswith('shared.conversations')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert loaded.stdout.strip() == "[]"
