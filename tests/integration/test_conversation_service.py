"""ConversationService on domain objects, as another route family (the Converra SDK's runs)
drives it: no promptId, agent fields, message fields kept as sent, status-only appends."""

from __future__ import annotations

from typing import Any

import pytest

from shared import services
from shared.conversations.models import ListFilters, Message, NewConversation
from shared.dynamo import Deadline
from shared.errors import BadRequest, Conflict, NotFound
from tests.integration.conversations import fresh_tenant, get


def deadline() -> Deadline:
    return Deadline(5)


def message(**fields: Any) -> Message:
    return Message.model_validate(fields)


def test_a_run_without_prompt_keeps_every_field(dynamodb: Any) -> None:
    service = services.conversation_service()
    tenant = fresh_tenant()
    new = NewConversation(
        messages=[
            message(role="user", content="hi", timestamp="2025-01-20T14:30:00Z"),
            message(
                role="assistant",
                content="hello",
                toolCalls=[{"id": "c1", "function": {"name": "f", "arguments": "{}"}}],
                latencyMs=12.5,
                usage={"promptTokens": 3, "completionTokens": 2, "cachedTokens": 1},
                tool_calls=[{"snake": "kept as sent"}],
            ),
        ],
        status="in_progress",
        agent_name="support-bot",
        agent_id="agent_1",
        session_id="sess_1",
        trace_id="t1",
        parent_trace_id="t0",
        tool_definitions=[{"name": "f"}],
        user_id="u1",
        title="A run",
        llm_model="gpt-4o",
        metadata={"source": "sdk"},
    )

    created = service.create(tenant, new, deadline())

    assert created.created is True
    conversation = service.get(tenant, created.conversation.id, deadline())
    assert conversation.prompt_id is None
    assert conversation.status == "in_progress"
    assert conversation.attributes == {
        "agentName": "support-bot",
        "agentId": "agent_1",
        "sessionId": "sess_1",
        "traceId": "t1",
        "parentTraceId": "t0",
        "toolDefinitions": [{"name": "f"}],
        "userId": "u1",
        "title": "A run",
        "llmModel": "gpt-4o",
    }
    assert conversation.messages == [
        {"role": "user", "content": "hi", "timestamp": "2025-01-20T14:30:00.000Z"},
        {
            "role": "assistant",
            "content": "hello",
            "toolCalls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}],
            "usage": {"promptTokens": 3, "completionTokens": 2, "cachedTokens": 1},
            "latencyMs": 12.5,
            "tool_calls": [{"snake": "kept as sent"}],
        },
    ]
    # the same conversation on the conversations routes
    body = get(created.conversation.id, tenant).body
    assert body["agentName"] == "support-bot"
    assert body["promptId"] is None
    assert body["messages"] == conversation.messages


def test_a_status_only_append_completes_a_conversation(dynamodb: Any) -> None:
    service = services.conversation_service()
    tenant = fresh_tenant()
    created = service.create(
        tenant,
        NewConversation(messages=[message(role="user", content="x")], status="active"),
        deadline(),
    )
    done = service.append(tenant, created.conversation.id, [], deadline(), status="completed")
    assert done.status == "completed"
    assert done.messages == [{"role": "user", "content": "x"}]
    assert done.content == "User: x"
    with pytest.raises(Conflict):
        service.append(tenant, created.conversation.id, [], deadline())


def test_service_errors_are_domain_errors(dynamodb: Any) -> None:
    service = services.conversation_service()
    with pytest.raises(BadRequest):
        service.get("acme", "run\n1", deadline())
    with pytest.raises(NotFound):
        service.get("acme", "run_1", deadline())
    with pytest.raises(NotFound):
        service.insights("acme", "conv_01JHBVX3V8T2Q6R9M4K7N5P0SZ", deadline())


def test_list_on_the_service(dynamodb: Any) -> None:
    service = services.conversation_service()
    tenant = fresh_tenant()
    ids = [
        service.create(
            tenant, NewConversation(messages=[message(role="user", content=str(i))]), deadline()
        ).conversation.id
        for i in range(3)
    ]
    page = service.list(tenant, ListFilters(), deadline(), limit=2)
    assert [c.id for c in page.conversations] == ids[:0:-1]
    assert page.total == 3
    assert page.next_after == ids[1]
    rest = service.list(tenant, ListFilters(), deadline(), limit=2, after=page.next_after)
    assert [c.id for c in rest.conversations] == [ids[0]]
    assert rest.next_after is None
