"""The runs family (Converra SDK routes) through its real handlers under moto: a run is a
conversation, readable and appendable on both route families, answered as `{"data": ...}`."""

from __future__ import annotations

from typing import Any

import pytest

from functions.agents_match.app import handler as agents_match_handler
from functions.runs_append.app import handler as runs_append_handler
from functions.runs_create.app import handler as runs_create_handler
from functions.runs_insights.app import handler as runs_insights_handler
from functions.sdk_config.app import handler as sdk_config_handler
from shared import services
from shared.conversations.service import ConversationService
from shared.conversations.store import ConversationStore
from shared.dynamo import make_client
from shared.settings import get_settings
from tests.integration.conversations import (
    RUNS,
    append,
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
from tests.support import Answer, LambdaContext, api_event, id_event, invoke

SEND = {
    "agentName": "Support Bot",
    "content": "User: Where is my order?\nAI: It shipped.",
    "messages": [
        {"role": "system", "content": "You are a support agent."},
        {"role": "user", "content": "Where is my order?"},
        {
            "role": "assistant",
            "content": "It shipped.",
            "model": "gpt-4o",
            "toolCalls": [{"name": "lookup_order", "arguments": {"id": "456"}, "result": "ok"}],
            "usage": {"promptTokens": 200, "completionTokens": 85},
            "latencyMs": 1200,
        },
    ],
    "status": "completed",
    "metadata": {"channel": "web", "source": "sdk"},
    "userId": "customer_acme",
    "sessionId": "sess_1",
    "title": "Order status",
    "traceId": "trace_1",
    "parentTraceId": "trace_0",
    "toolDefinitions": [{"name": "lookup_order", "parameters": {"type": "object"}}],
}


def run_id_of(body: Any, tenant: str = "acme") -> str:
    answer = run_create(body, tenant)
    assert answer.status == 200, answer.body
    run_id: str = answer.body["data"]["id"]
    return run_id


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


# --- create ------------------------------------------------------------------------------------


def test_a_sent_run_is_a_conversation_with_everything_it_sent(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    answer = run_create(SEND, tenant)

    assert answer.status == 200, answer.body
    created = answer.body["data"]
    assert created["status"] == "completed"
    assert created["_links"]["appendMessages"]["href"].endswith(f"/{created['id']}/messages")

    stored = get(created["id"], tenant)
    assert stored.status == 200, stored.body
    assert stored.body["messages"] == SEND["messages"]
    assert stored.body["content"] == (
        "System: You are a support agent.\nUser: Where is my order?\nAssistant: It shipped."
    )
    for key in ("agentName", "userId", "sessionId", "title", "traceId", "parentTraceId"):
        assert stored.body[key] == SEND[key], key
    assert stored.body["toolDefinitions"] == SEND["toolDefinitions"]
    assert stored.body["metadata"] == SEND["metadata"]
    assert stored.body["promptId"] is None
    listed = list_(tenant).body["data"]
    assert [c["id"] for c in listed] == [created["id"]]


def test_a_captured_call_without_agent_stores_its_tool_only_reply(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    captured = {
        "content": "User: Where is order 456?\nAI: ",
        "userId": "sdk",
        "status": "completed",
        "llmModel": "gpt-4o-mini",
        "messages": [
            user("Where is order 456?"),
            {"role": "assistant", "content": "", "model": "gpt-4o-mini"},
        ],
        "metadata": {"source": "sdk", "variantId": None, "assignment": "baseline"},
    }
    run_id = run_id_of(captured, tenant)

    stored = get(run_id, tenant).body
    assert stored["messages"] == captured["messages"]
    assert stored["llmModel"] == "gpt-4o-mini"
    assert stored["metadata"] == captured["metadata"]


def test_snake_case_message_keys_are_stored_in_camel_case(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    message = {
        "role": "assistant",
        "content": "Done.",
        "tool_calls": [{"name": "f", "arguments": {}}],
        "latency_ms": 12.5,
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
    run_id = run_id_of({"agentName": "Bot", "messages": [user("Go"), message]}, tenant)

    assert get(run_id, tenant).body["messages"][1] == {
        "role": "assistant",
        "content": "Done.",
        "toolCalls": [{"name": "f", "arguments": {}}],
        "latencyMs": 12.5,
        "usage": {"promptTokens": 3, "completionTokens": 1, "totalTokens": 4},
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agentName": "Bot", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        (
            {"agentName": "Bot", "messages": [{"role": "user", "content": ""}]},
            "messages[0].content",
        ),
        (
            {"messages": [{"role": "user", "content": "x", "latencyMs": 1, "latency_ms": 1}]},
            "messages[0]",
        ),
        ({"agentName": "Bot"}, "messages"),
        ({"agentName": "Bot", "content": "User:"}, "content"),
        ({"agentName": "Bot", "content": "x", "promptId": "p"}, "promptId"),
        ({"agentName": 5, "content": "User: hi"}, "agentName"),
        ({"content": "User: hi", "status": "done"}, "status"),
        ({"content": "no labels at all"}, "content"),
    ],
)
def test_bad_runs_are_400_naming_the_field(dynamodb: Any, body: Any, field: str) -> None:
    tenant = fresh_tenant()
    refused = error(run_create(body, tenant), 400, "VALIDATION_ERROR")
    assert field in refused["details"], refused
    assert list_(tenant).body["pagination"]["total"] == 0  # nothing half-written


def test_a_run_over_the_message_limit_is_413_and_stores_nothing(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    body = {"agentName": "Bot", "messages": [user("x" * (100 * 1024 + 1))]}
    refused = error(run_create(body, tenant), 413, "PAYLOAD_TOO_LARGE")
    assert "102,400" in refused["message"]
    assert list_(tenant).body["pagination"]["total"] == 0


def test_oversized_tool_definitions_are_413_and_store_nothing(dynamodb: Any) -> None:
    """toolDefinitions live with metadata in one DynamoDB item: bounded, never a 500."""
    tenant = fresh_tenant()
    big = [{"name": "f", "description": "x" * 200_000}]
    tools = {"agentName": "Bot", "content": "User: hi", "toolDefinitions": big}
    refused = error(run_create(tools, tenant), 413, "PAYLOAD_TOO_LARGE")
    assert "200,000" in refused["message"]
    assert list_(tenant).body["pagination"]["total"] == 0

    half = [{"name": "f", "description": "x" * 110_000}]
    run_id = run_id_of(
        {"agentName": "Bot", "status": "active", "metadata": {"k": "x" * 110_000}}, tenant
    )
    grown = run_append(run_id, {"messages": [user("hi")], "toolDefinitions": half}, tenant)
    error(grown, 413, "PAYLOAD_TOO_LARGE")
    stored = get(run_id, tenant).body
    assert (stored["messages"], stored.get("toolDefinitions")) == ([], None)  # refused whole


def test_a_body_that_is_not_a_json_object_is_400(dynamodb: Any) -> None:
    error(run_create(None, raw_body=b"[1, 2]"), 400, "VALIDATION_ERROR")
    error(run_create(None, raw_body=b"{not json"), 400, "VALIDATION_ERROR")


# --- append ------------------------------------------------------------------------------------


def test_live_run_appended_twice_then_completed(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    run_id = run_id_of(
        {"agentName": "Chat Bot", "messages": [user("Hi")], "status": "active"}, tenant
    )

    first = run_append(
        run_id,
        {"messages": [{"role": "assistant", "content": "Hello!"}], "metadata": {"step": 1}},
        tenant,
    )
    assert first.status == 200, first.body
    assert first.body["data"]["status"] == "active"
    second = run_append(
        run_id,
        {
            "messages": [user("Thanks"), {"role": "assistant", "content": "Bye!"}],
            "status": "completed",
            "sessionId": "sess_9",
            "toolDefinitions": [{"name": "g"}],
            "metadata": {"step": 2},
        },
        tenant,
    )
    assert second.status == 200, second.body
    run = second.body["data"]
    assert [m["content"] for m in run["messages"]] == ["Hi", "Hello!", "Thanks", "Bye!"]
    assert run["status"] == "completed"
    assert run["metadata"] == {"step": 2}
    assert (run["sessionId"], run["toolDefinitions"]) == ("sess_9", [{"name": "g"}])

    stored = get(run_id, tenant).body
    assert {k: stored[k] for k in run if k != "insights"} == run
    closed = run_append(run_id, {"messages": [user("one more")]}, tenant)
    assert error(closed, 409, "CONFLICT")["details"] == {"status": "Conversation is completed"}


def test_runs_and_conversations_append_to_each_other(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    assert run_append(conversation_id, {"messages": [user("via runs")]}, tenant).status == 200
    run_id = run_id_of({"agentName": "Bot", "status": "active"}, tenant)
    assert append(run_id, {"messages": [user("via conversations")]}, tenant).status == 200
    assert get(conversation_id, tenant).body["content"] == "User: via runs"
    assert get(run_id, tenant).body["content"] == "User: via conversations"


def test_another_tenants_run_is_404_on_every_runs_route(dynamodb: Any) -> None:
    run_id = run_id_of({"agentId": "agent_1", "status": "active"}, fresh_tenant())
    other = fresh_tenant()
    error(run_append(run_id, {"messages": [user("x")]}, other), 404, "NOT_FOUND")
    error(run_insights(run_id, other), 404, "NOT_FOUND")


def test_bad_run_ids_and_bodies_on_append(dynamodb: Any) -> None:
    error(run_append("nope", {"messages": [user("x")]}), 404, "NOT_FOUND")
    missing = "conv_01JHBVX3V8T2Q6R9M4K7N5P0SA"
    error(run_append(missing, {"messages": [user("x")]}), 404, "NOT_FOUND")
    tenant = fresh_tenant()
    run_id = run_id_of({"agentName": "Bot", "status": "active"}, tenant)
    for body, field in [
        ({"messages": []}, "messages"),
        ({"messages": [user("x")], "title": "t"}, "title"),
        ({"messages": [user("x")], "toolDefinitions": [{}]}, "toolDefinitions[0].name"),
    ]:
        refused = error(run_append(run_id, body, tenant), 400, "VALIDATION_ERROR")
        assert field in refused["details"], refused
    assert get(run_id, tenant).body["messages"] == []


# --- insights ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"agentId": "agent_1", "status": "active"}, "pending"),
        ({"agentId": "agent_1", "content": "User: hi"}, "pending"),
        ({"agentId": "agent_1", "content": "User: hi", "status": "abandoned"}, "skipped"),
        ({"agentName": "Bot", "content": "User: hi"}, "pending"),  # linked to the agent "Bot"
        ({"content": "User: hi"}, "skipped"),
    ],
)
def test_run_insights_answer_the_sdk_lifecycle_form(
    dynamodb: Any, fields: dict[str, Any], status: str
) -> None:
    tenant = fresh_tenant()
    run_id = run_id_of(fields, tenant)

    answer = run_insights(run_id, tenant)

    assert answer.status == 200, answer.body
    assert answer.body["data"]["conversationId"] == run_id
    assert answer.body["data"]["status"] == status
    assert answer.body["data"]["message"]
    # the conversations API says the same thing its own way
    assert insights(run_id, tenant).status == 404


def test_a_conversation_linked_by_prompt_id_is_pending_as_a_run(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = created_id({"promptId": "prompt_1", "content": "User: hi"}, tenant)
    assert run_insights(conversation_id, tenant).body["data"]["status"] == "pending"


# --- sdk config and agent match ----------------------------------------------------------------


def test_sdk_config_and_agent_match(dynamodb: Any) -> None:
    config = invoke(sdk_config_handler, api_event("GET", "/api/v1/sdk/config"))
    assert config.status == 200, config.body
    assert config.body["data"]["testingMode"] == "simulation"
    assert config.body["data"]["captureEnabled"] is True

    match_path = "/api/v1/sdk/agents/match"
    matched = invoke(agents_match_handler, api_event("POST", match_path, body={"content": "x"}))
    assert matched.body == {"data": {"matched": False, "agentId": None}}
    for body, details in [
        ({"content": 1}, {"content": "Must be a string"}),
        ({}, {"content": "Required field"}),
        ({"content": "x", "prompt": "y"}, {"prompt": "Unknown field"}),
    ]:
        refused = invoke(agents_match_handler, api_event("POST", match_path, body=body))
        assert error(refused, 400, "VALIDATION_ERROR")["details"] == details
    not_object = invoke(agents_match_handler, api_event("POST", match_path, body=["x"]))
    error(not_object, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "call",
    [
        lambda: invoke(sdk_config_handler, api_event("GET", "/api/v1/sdk/config", tenant=None)),
        lambda: run_create(SEND, tenant=None),
    ],
)
def test_without_the_authorizer_runs_routes_fail_closed(dynamodb: Any, call: Any) -> None:
    error(call(), 401, "UNAUTHORIZED")


# --- storage faults ----------------------------------------------------------------------------


def test_storage_outage_is_a_retryable_503(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = run_id_of({"agentName": "Bot", "status": "active"})
    # a real client aimed at a closed local port: every call fails as in a network outage
    settings = get_settings().model_copy(update={"dynamodb_endpoint": "http://127.0.0.1:9"})
    store = ConversationStore(make_client(settings), settings.conversations_table)
    monkeypatch.setattr(services, "conversation_service", lambda: ConversationService(store, 3600))
    short = LambdaContext(remaining_ms=1_300)  # the retry budget ends within 0.3 s

    for answer in (
        invoke(runs_create_handler, api_event("POST", RUNS, body=SEND), short),
        run_append_with_context(run_id, short),
        invoke(
            runs_insights_handler,
            id_event("GET", RUNS + "/{id}/insights", run_id),
            short,
        ),
    ):
        error(answer, 503, "SERVICE_UNAVAILABLE")
        assert answer.headers["retry-after"]


def run_append_with_context(run_id: str, context: LambdaContext) -> Answer:
    event = id_event("POST", RUNS + "/{id}/messages", run_id, body={"messages": [user("x")]})
    return invoke(runs_append_handler, event, context)


def test_an_empty_append_is_worded_without_a_dangling_colon(dynamodb: Any) -> None:
    run_id = run_id_of({"agentName": "Bot", "status": "active"})
    details = error(run_append(run_id, {"messages": []}), 400, "VALIDATION_ERROR")["details"]
    assert details == {"messages": "List should have at least 1 item after validation, not 0"}
