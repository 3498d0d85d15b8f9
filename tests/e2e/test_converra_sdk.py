"""Converra's official SDK (`converra` 0.5.1, unmodified) against `make dev`: everything it
sends is stored and reads back on `GET /api/v1/conversations/{id}`. Its wrapped OpenAI client
talks to a fake OpenAI on 127.0.0.1 (no network)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from converra import (
    Converra,
    ConverraError,
    ConversationInsights,
    ConversationInsightsUnavailable,
    ConversationMessage,
    ToolCall,
    ToolDefinition,
    Usage,
)

from tests.converra_fakes import OPENAI_PATH, Seen, chat_completion, fake_server
from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e


def sdk(server: ServerProcess, tenant: str = "acme") -> Converra:
    return Converra(api_key=server.keys[tenant], base_url=f"{server.base_url}/api/v1")


@pytest.fixture(scope="module")
def converra(server: ServerProcess) -> Iterator[Converra]:
    client = sdk(server).init()
    yield client
    client.shutdown()


def read_back(server: ServerProcess, conversation_id: str, tenant: str = "acme") -> Any:
    url = f"{server.base_url}/api/v1/conversations/{conversation_id}"
    reply = request("GET", url, key=server.keys[tenant])
    assert reply.status == 200, reply.body
    return reply.body


def test_init_reads_parleys_config_and_no_agent_matches(converra: Converra) -> None:
    assert converra.testing_mode == "simulation"
    assert converra.resolver.match_agent("You are a support agent.") is None


def test_full_conversation_is_stored_and_read_back(
    server: ServerProcess, converra: Converra
) -> None:
    sent = converra.send(
        agent="Support Bot",
        messages=[
            ConversationMessage(role="system", content="You are a support agent."),
            ConversationMessage(
                role="user", content="Where is my order?", timestamp="2025-01-20T14:30:00Z"
            ),
            ConversationMessage(
                role="assistant",
                content="Let me check.",
                model="gpt-4o",
                tool_calls=[ToolCall("lookup_order", {"order": "456"}, "shipped", id="call_1")],
                usage=Usage(prompt_tokens=200, completion_tokens=85),
                latency_ms=1200,
                metadata={"step": "lookup"},
            ),
            {"role": "tool", "content": "", "tool_calls": [{"name": "lookup_order"}]},
            {"role": "assistant", "content": "It shipped yesterday.", "latency_ms": 80},
        ],
        user_id="customer_acme",
        session_id="sess_full",
        title="Order status",
        metadata={"channel": "web"},
        tool_definitions=[ToolDefinition("lookup_order", "Find an order", {"type": "object"})],
        trace_id="trace_1",
        parent_trace_id="trace_0",
    )

    stored = read_back(server, sent.conversation_id)
    assert stored["messages"] == [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Where is my order?", "timestamp": "2025-01-20T14:30:00.000Z"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "model": "gpt-4o",
            "toolCalls": [
                {
                    "name": "lookup_order",
                    "arguments": {"order": "456"},
                    "id": "call_1",
                    "result": "shipped",
                }
            ],
            "usage": {"promptTokens": 200, "completionTokens": 85},
            "latencyMs": 1200,
            "metadata": {"step": "lookup"},
        },
        {"role": "tool", "content": "", "toolCalls": [{"name": "lookup_order"}]},
        {"role": "assistant", "content": "It shipped yesterday.", "latencyMs": 80},
    ]
    assert stored["status"] == "completed"
    assert stored["agentName"] == "Support Bot"
    assert (stored["userId"], stored["sessionId"], stored["title"]) == (
        "customer_acme",
        "sess_full",
        "Order status",
    )
    assert (stored["traceId"], stored["parentTraceId"]) == ("trace_1", "trace_0")
    assert stored["toolDefinitions"] == [
        {"name": "lookup_order", "description": "Find an order", "parameters": {"type": "object"}}
    ]
    assert stored["metadata"] == {"channel": "web", "source": "sdk"}


def test_live_conversation_appended_twice_then_completed(
    server: ServerProcess, converra: Converra
) -> None:
    opened = converra.send(
        agent="Chat Bot", messages=[{"role": "user", "content": "Hi"}], status="active"
    )
    run_id = opened.conversation_id
    converra.send(
        agent="Chat Bot",
        conversation_id=run_id,
        messages=[ConversationMessage(role="assistant", content="Hello! How can I help?")],
        metadata={"turn": 2},
    )
    converra.send(
        agent="Chat Bot",
        conversation_id=run_id,
        messages=[
            {"role": "user", "content": "Nothing, thanks"},
            {"role": "assistant", "content": "Bye!", "usage": {"prompt_tokens": 5}},
        ],
        session_id="sess_live",
        status="completed",
    )

    stored = read_back(server, run_id)
    assert stored["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Nothing, thanks"},
        {"role": "assistant", "content": "Bye!", "usage": {"promptTokens": 5}},
    ]
    assert stored["content"] == (
        "User: Hi\nAssistant: Hello! How can I help?\nUser: Nothing, thanks\nAssistant: Bye!"
    )
    assert stored["status"] == "completed"
    assert stored["sessionId"] == "sess_live"
    assert stored["metadata"] == {"source": "sdk", "turn": 2}

    # agentName links the tenant's agent of that name, so the completed run is analyzed: the
    # SDK reads its insights form (pending first, then the analysis) within a bounded wait.
    insights = converra.get_run_insights(run_id)
    deadline = time.monotonic() + 15
    while isinstance(insights, ConversationInsightsUnavailable) and time.monotonic() < deadline:
        assert insights.status == "pending", insights
        time.sleep(0.2)
        insights = converra.get_run_insights(run_id)
    assert isinstance(insights, ConversationInsights), insights
    assert insights.conversation_id == run_id
    assert insights.executive_summary
    assert insights.metrics is not None
    with pytest.raises(ConverraError) as refused:  # 409: it is completed
        converra.send(
            agent="Chat Bot", conversation_id=run_id, messages=[{"role": "user", "content": "?"}]
        )
    assert refused.value.code == "REQUEST_FAILED"


def _completion(seen: Seen) -> tuple[int, Any]:
    return 200, chat_completion("Hi! How can I help?", seen.body["model"])


def test_wrapped_openai_calls_are_captured(server: ServerProcess) -> None:
    session = f"sess_{uuid.uuid4().hex[:12]}"
    with fake_server({f"POST {OPENAI_PATH}": _completion}) as fake_openai:
        client = sdk(server, "globex")
        llm = client.wrap(
            openai.OpenAI(api_key="sk-test", base_url=f"{fake_openai.url}/openai/v1"),
            session_id=session,
        )
        try:
            llm.chat.completions.create(  # type: ignore[attr-defined]
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "You are a support agent."},
                    {"role": "user", "content": "Hello"},
                ],
            )
        finally:
            client.shutdown()  # flushes the background capture

    listed = request(
        "GET", f"{server.base_url}/api/v1/conversations?limit=100", key=server.keys["globex"]
    )
    assert listed.status == 200, listed.body
    stored = [read_back(server, c["id"], "globex") for c in listed.body["data"]]
    (captured,) = [c for c in stored if c.get("sessionId") == session]
    assert captured["messages"] == [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Hello"},
        {
            "role": "assistant",
            "content": "Hi! How can I help?",
            "model": "gpt-4o-mini",
            "usage": {"promptTokens": 21, "completionTokens": 7},
        },
    ]
    assert (captured["userId"], captured["llmModel"]) == ("sdk", "gpt-4o-mini")
    assert captured["metadata"]["source"] == "sdk"
