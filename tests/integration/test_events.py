"""Every events/ file (the `sam local invoke -e` samples) goes through its real handler.

Each file belongs to the function whose code folder name prefixes the file name (the longest one
wins: `ingest_multi_mixed.json` → functions/ingest_multi/), and the answers are the ones the
source docs give for the example bodies the files carry.

Where a test reads records back it swaps the authorizer's tenant for a fresh one, so what other
tests store in the session-wide tables cannot change the exact answer.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from devtools.schedules import schedules
from devtools.streams import matches, stream_mappings
from devtools.template import ROOT, Function, authorizer_function, functions, load_template
from shared.auth import bearer_token
from shared.settings import get_settings
from tests import lake_support
from tests.lake_support import row as lake_row
from tests.support import LambdaContext, api_event, invoke, records_event
from tests.support import _ensure_event_loop as ensure_event_loop

EVENTS_DIR = ROOT / "events"
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))
FUNCTIONS = functions(load_template())
AUTHORIZER = authorizer_function(load_template(), "IngestApi")
# Functions fed by a DynamoDB stream: their events/ files are stream batches.
STREAM_WORKERS = frozenset(m.function for m in stream_mappings(load_template()))
# Functions run on a schedule: their events/ files are EventBridge scheduled events.
SCHEDULED = frozenset(s.function for s in schedules(load_template()))

PRODUCTION, STAGING = "production", "staging"
OTEL_ROUTES = ("/v1/traces", "/v1/metrics", "/v1/logs")


def function_for(path: Path) -> Function | None:
    """The function whose code folder name is the longest prefix of the file's name."""
    matches = [
        fn
        for fn in FUNCTIONS.values()
        if path.stem == (folder := Path(fn.code_uri).name) or path.stem.startswith(folder + "_")
    ]
    return max(matches, key=lambda fn: len(Path(fn.code_uri).name), default=None)


@cache
def handler_for(function: Function) -> Any:
    return getattr(importlib.import_module(function.module_name), function.attribute)


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


def with_tenant(event: dict[str, Any], tenant: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["requestContext"]["authorizer"].update(tenantId=tenant, principalId=tenant)
    return changed


def base64_body(event: dict[str, Any]) -> dict[str, Any]:
    """The event as API Gateway really sends it with BinaryMediaTypes */* (base64 body)."""
    changed = copy.deepcopy(event)
    changed["body"] = base64.b64encode(event["body"].encode()).decode()
    changed["isBase64Encoded"] = True
    return changed


def fresh_tenant() -> str:
    return f"events-{uuid.uuid4().hex[:12]}"


# --- which file belongs to which function ------------------------------------------------------


def test_there_are_event_files() -> None:
    assert EVENT_FILES, f"no events in {EVENTS_DIR}"


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_every_events_file_maps_to_a_function(path: Path) -> None:
    assert function_for(path) is not None, (
        f"events/{path.name} matches no function: name it <code folder>_<case>.json, one of "
        f"{sorted(Path(fn.code_uri).name for fn in FUNCTIONS.values())}"
    )


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_has_an_events_file(logical_id: str) -> None:
    mapped = {function_for(p) for p in EVENT_FILES}
    assert FUNCTIONS[logical_id] in mapped, f"{logical_id} has no events/ file"


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_events_file_is_a_sam_local_invoke_event(path: Path) -> None:
    event = json.loads(path.read_text())
    function = function_for(path)
    if "Records" in event:  # a stream or queue batch: its own tests below
        assert event["Records"], path.name
        return
    if function in SCHEDULED:
        assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
        return
    if function == AUTHORIZER:
        assert event["type"] == "REQUEST"
        assert event["methodArn"].startswith("arn:aws:execute-api:")
        # well-formed, so refusing it (test below) is about the key being unknown
        assert bearer_token(event["headers"]["Authorization"]) is not None
        return
    if function in STREAM_WORKERS:
        for record in event["Records"]:
            assert record["eventSource"] == "aws:dynamodb"
            assert record["eventSourceARN"].startswith("arn:aws:dynamodb:")
        return
    if path.name.startswith("console_"):  # a public route: API Gateway runs no authorizer
        assert event["requestContext"]["authorizer"] is None
        assert "Authorization" not in event["headers"]
    else:
        assert event["requestContext"]["authorizer"] == {
            "tenantId": "acme",
            "principalId": "acme",
            "keyId": "key_0123456789abcdef",
        }
    assert event["requestContext"]["resourcePath"] == event["resource"]
    assert event["requestContext"]["httpMethod"] == event["httpMethod"]
    if event["body"] is not None:
        assert event["isBase64Encoded"] is False
        json.loads(event["body"])


# --- ingest functions --------------------------------------------------------------------------


def channel_details(channel: int = 0, tool_call: int = 0, email: int = 0, call: int = 0) -> Any:
    return {
        "channel": channel,
        "tool_call": tool_call,
        "email": email,
        "call": call,
        "call_transcript_messages": 0,
    }


@dataclass(frozen=True)
class Expected:
    count: int
    details: dict[str, int] | None
    # conversation id → records stored in it
    conversations: dict[str, int]
    environment: str = PRODUCTION


# The answers the replaced APIs document for these example bodies (events/ holds them).
INGEST_EXPECTED = {
    # /v1/ingest docs, "Example": two standard events, no channel-specific event → no details
    "ingest_standard.json": Expected(2, None, {"conv-abc123": 2}),
    # /v1/ingest docs, "Mixed batch example"
    "ingest_mixed.json": Expected(
        3,
        channel_details(channel=1, tool_call=1),
        {"conv-123": 1, "support-thread-456": 2},
    ),
    # /v1/ingest docs, email and call examples: a call is one record
    "ingest_email_call.json": Expected(
        2, channel_details(email=1, call=1), {"conv-456": 1, "call-session-456": 1}
    ),
    # /v1/ingest/multi docs, "Mixed Batch Example": inReplyTo becomes the email's conversation_id
    "ingest_multi_mixed.json": Expected(
        4,
        channel_details(channel=2, tool_call=1, email=1),
        {"conv-123": 3, "support-thread-789": 1},
        environment=STAGING,
    ),
    # /v1/ingest/multi docs, "Example"
    "ingest_multi_support.json": Expected(
        3, channel_details(channel=2, tool_call=1), {"support-thread-123": 3}
    ),
    # vogent-raw docs, request example: 3 utterances (<|silence|> emits none), 1 function call
    "ingest_vogent_raw_call.json": Expected(
        4, {"calls": 1, "utterances": 3, "function_calls": 1}, {"session-456": 4}
    ),
    # vogent-raw docs, cURL example and its documented response
    "ingest_vogent_raw_two_turns.json": Expected(
        2, {"calls": 1, "utterances": 2, "function_calls": 0}, {"session-001": 2}
    ),
}

# Every events file a REST proxy function gets (all but the authorizer's and the batches of
# stream- and queue-triggered functions).
PROXY_FILES = [
    p.name
    for p in EVENT_FILES
    if function_for(p) not in (None, AUTHORIZER)
    and function_for(p) not in SCHEDULED
    and "Records" not in load_event(p.name)
]
INGEST_FILES = [n for n in PROXY_FILES if "/v1/ingest" in load_event(n)["resource"]]
CONVERSATION_FILES = [
    n for n in PROXY_FILES if load_event(n)["resource"].startswith("/api/v1/conversations")
]
# Converra's route family (runs, sdk/config, agents/match) on the same API.
RUNS_FILES = [
    n for n in PROXY_FILES if load_event(n)["resource"].startswith(("/api/v1/runs", "/api/v1/sdk"))
]
WEBHOOK_FILES = [n for n in PROXY_FILES if load_event(n)["resource"].startswith("/api/v1/webhooks")]
CONSOLE_FILES = [n for n in PROXY_FILES if n.startswith("console_")]
INGEST_API_FILES = [
    n
    for n in PROXY_FILES
    if not load_event(n)["resource"].startswith("/api/") and n not in CONSOLE_FILES
]


def test_every_ingest_events_file_has_its_expected_answer() -> None:
    assert sorted(INGEST_EXPECTED) == sorted(INGEST_FILES)


# OTLP/JSON bodies: an accepted export answers an empty Export…ServiceResponse.
OTEL_FILES = [n for n in PROXY_FILES if load_event(n)["resource"] in OTEL_ROUTES]
# events/otel_traces_moda.json: one moda-ai span, its two prompts and its completion.
OTEL_TRACES_CONVERSATION = ("conv-otel-123", ["system", "user", "assistant"])


def handler_of(name: str) -> Any:
    function = function_for(EVENTS_DIR / name)
    assert function is not None
    return handler_for(function)


def records_of(tenant: str, conversation_id: str) -> list[dict[str, Any]]:
    event = records_event(conversation_id, tenant=tenant, query={"limit": "1000"})
    answer = invoke(handler_for(FUNCTIONS["ListRecordsFunction"]), event)
    assert answer.status == 200, answer.body
    assert answer.body["nextCursor"] is None
    records: list[dict[str, Any]] = answer.body["data"]
    return records


def expected_body(expected: Expected, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "count": expected.count, "requestId": request_id}
    if expected.details is not None:
        body["details"] = expected.details
    return body


@pytest.mark.parametrize("name", INGEST_API_FILES)
def test_events_file_gets_the_documented_answer(dynamodb: Any, name: str) -> None:
    """The file exactly as `sam local invoke -e` sends it (body a JSON string, not base64)."""
    event = load_event(name)
    request_id = event["requestContext"]["requestId"]

    answer = invoke(handler_of(name), event, LambdaContext())

    assert answer.status == 200, answer.body
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"] == request_id
    if name in INGEST_EXPECTED:
        assert answer.body == expected_body(INGEST_EXPECTED[name], request_id)
    elif name in OTEL_FILES:
        assert answer.body == {}
    else:  # reading back: what the tenant has depends on what ran before
        assert set(answer.body) == {"data", "nextCursor"}
        assert isinstance(answer.body["data"], list)


@pytest.mark.parametrize("name", CONSOLE_FILES)
def test_console_events_file_serves_the_page_without_a_key(name: str) -> None:
    ensure_event_loop()
    answer = handler_of(name)(load_event(name), LambdaContext())
    headers = {k.lower(): v for k, v in answer["headers"].items()}
    assert answer["statusCode"] == 200
    assert headers["content-type"].startswith(("text/html", "text/javascript"))
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "console" in answer["body"]


@pytest.mark.parametrize("name", sorted(INGEST_EXPECTED))
def test_ingest_events_file_stores_what_it_counts(dynamodb: Any, name: str) -> None:
    """Sent base64-encoded (as API Gateway does with BinaryMediaTypes */*), for a fresh tenant:
    the same answer, and exactly the counted records, in the documented conversations."""
    tenant = fresh_tenant()
    event = base64_body(with_tenant(load_event(name), tenant))
    expected = INGEST_EXPECTED[name]

    answer = invoke(handler_of(name), event)

    assert answer.status == 200, answer.body
    assert answer.body == expected_body(expected, event["requestContext"]["requestId"])
    stored = {conv: records_of(tenant, conv) for conv in expected.conversations}
    assert {conv: len(records) for conv, records in stored.items()} == expected.conversations
    all_records = [r for records in stored.values() for r in records]
    assert len({r["id"] for r in all_records}) == expected.count
    assert {r["environment"] for r in all_records} == {expected.environment}
    assert {r["request_id"] for r in all_records} == {event["requestContext"]["requestId"]}
    if expected.details is not None and "calls" not in expected.details:
        sources = Counter(r["message_source"] for r in all_records)
        for kind in ("channel", "tool_call", "email", "call"):
            assert sources[kind] == expected.details[kind], (kind, sources)


def test_vogent_raw_call_fans_out_as_seed_003_describes(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    event = with_tenant(load_event("ingest_vogent_raw_call.json"), tenant)
    assert invoke(handler_of("ingest_vogent_raw_call.json"), event).status == 200

    records = sorted(records_of(tenant, "session-456"), key=lambda r: r["id"])

    assert [r["id"] for r in records] == [f"call-abc-123_{i}" for i in range(4)]
    assert [r["trace_id"] for r in records] == [r["id"] for r in records]
    assert [(r["message_source"], r["role"], r["is_client"]) for r in records] == [
        ("call", "assistant", False),
        ("call", "user", True),
        ("tool_call", "assistant", False),
        ("call", "assistant", False),
    ]
    assert [r.get("message") for r in records] == [
        "Thank you for calling. How can I help?",
        "I need to check my account balance.",
        None,
        "Your current balance is $1,234.56.",
    ]
    assert [r["has_tool_use"] for r in records] == [False, False, True, False]
    first, _, tool_call, _ = records
    assert first["duration"] == 9.5  # (10500 - 1000) / 1000
    assert first["organization_id"] == "org-001"
    assert first["call_type"] == "phone"
    assert first["user_id"] == "user-789"
    transcript_block = first["content_blocks"][0]
    assert transcript_block["type"] == "vogent_call_transcript"
    assert transcript_block["call_id"] == "call-abc-123"
    assert len(transcript_block["transcript"]) == 5  # unfiltered: the marker entry included
    assert transcript_block["function_calls"] == [
        {"name": "lookup_account", "arguments": {"user_id": "user-789"}}
    ]
    assert tool_call["tool_name"] == "lookup_account"
    assert tool_call["content_blocks"] == [
        {
            "type": "vogent_tool_call",
            "name": "lookup_account",
            "arguments": {"user_id": "user-789"},
        }
    ]


# --- records -----------------------------------------------------------------------------------


RECORDS_FILE = "records_list.json"


def test_records_events_file_answers_as_is(dynamodb: Any) -> None:
    event = load_event(RECORDS_FILE)
    conversation = event["pathParameters"]["conversationId"]

    answer = invoke(handler_of(RECORDS_FILE), event)

    assert answer.status == 200, answer.body
    assert all(r["conversation_id"] == conversation for r in answer.body["data"])
    assert len(answer.body["data"]) <= int(event["queryStringParameters"]["limit"])


def test_records_events_file_reads_back_the_standard_ingest(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    ingest = with_tenant(load_event("ingest_standard.json"), tenant)
    assert invoke(handler_of("ingest_standard.json"), ingest).status == 200
    event = with_tenant(load_event(RECORDS_FILE), tenant)

    answer = invoke(handler_of(RECORDS_FILE), event)

    assert answer.status == 200, answer.body
    assert answer.body["nextCursor"] is None
    records = answer.body["data"]
    assert [(r["role"], r["message"]) for r in records] == [
        ("user", "Hello, how are you?"),
        ("assistant", "I am doing well, thank you for asking!"),
    ]
    assistant = records[1]
    assert assistant["input_tokens"] == 8
    assert assistant["output_tokens"] == 12
    assert assistant["model"] == "gpt-4o"
    assert assistant["provider"] == "openai"
    assert all(r["message_source"] == "chat" for r in records)
    assert all(r["trace_id"] == "conv-abc123" for r in records)


def test_records_events_file_honours_its_limit(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    ingest = with_tenant(load_event("ingest_standard.json"), tenant)
    assert invoke(handler_of("ingest_standard.json"), ingest).status == 200
    event = with_tenant(load_event(RECORDS_FILE), tenant)
    event["queryStringParameters"]["limit"] = "1"
    event["multiValueQueryStringParameters"]["limit"] = ["1"]

    answer = invoke(handler_of(RECORDS_FILE), event)

    assert answer.status == 200, answer.body
    assert len(answer.body["data"]) == 1
    assert answer.body["nextCursor"]


# --- search ------------------------------------------------------------------------------------


SEARCH_FILE = "search.json"


def test_search_events_file_finds_what_the_lake_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file as is, over a lake written per the lake contract (the writer's own tests cover
    how records get there)."""
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    get_settings.cache_clear()
    try:
        tenant = fresh_tenant()
        lake_support.write(
            tmp_path / "lake",
            [
                lake_row(tenant, "rec_1", "I would like a refund for order 42"),
                lake_row(tenant, "rec_2", "Refunds take five days", environment=STAGING),
                lake_row("acme", "rec_3", "refund for the key's own tenant"),
            ],
        )
        answer = invoke(handler_of(SEARCH_FILE), with_tenant(load_event(SEARCH_FILE), tenant))
    finally:
        get_settings.cache_clear()

    assert answer.status == 200, answer.body
    assert answer.body["nextCursor"] is None
    [hit] = answer.body["data"]
    assert hit["recordId"] == "rec_1"
    assert hit["environment"] == PRODUCTION
    [[start, end]] = hit["highlights"]
    assert hit["snippet"][start:end] == "refund"


def test_search_events_file_refuses_an_unknown_filter() -> None:
    event = load_event(SEARCH_FILE)
    event["queryStringParameters"]["colour"] = "red"
    event["multiValueQueryStringParameters"]["colour"] = ["red"]

    answer = invoke(handler_of(SEARCH_FILE), event)

    assert answer.status == 400
    assert answer.body["message"] == "'colour' is not a parameter of search"


# --- analytics ---------------------------------------------------------------------------------


ANALYTICS_FILE = "analytics.json"


def test_analytics_events_file_charts_what_the_lake_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file as is (messages by day and environment, 2026-01-14 to 16), over a lake written
    per the lake contract; another tenant's rows never count."""
    from shared import services

    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    get_settings.cache_clear()
    services.lake_store.cache_clear()
    try:
        tenant = fresh_tenant()
        lake_support.write(
            tmp_path / "lake",
            [
                lake_row(tenant, "rec_1", "I would like a refund"),
                lake_row(tenant, "rec_2", "Refunds take five days", environment=STAGING),
                lake_row(tenant, "rec_3", "and one more", environment=STAGING),
                lake_row("acme", "rec_4", "the key's own tenant"),
            ],
        )
        answer = invoke(handler_of(ANALYTICS_FILE), with_tenant(load_event(ANALYTICS_FILE), tenant))
    finally:
        get_settings.cache_clear()
        services.lake_store.cache_clear()

    assert answer.status == 200, answer.body
    assert answer.body["data"] == [
        {"day": "2026-01-15", "environment": PRODUCTION, "value": 1},
        {"day": "2026-01-15", "environment": STAGING, "value": 2},
    ]


def test_clusters_events_files_answer_the_list_and_a_404_for_an_unknown_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import services

    tenant = f"ev-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    services.reset()
    try:
        lake_support.write(
            tmp_path / "lake",
            [
                lake_row(tenant, f"rec_{n}", "refund for a double charge", conversation_id=f"c{n}")
                for n in range(3)
            ],
        )
        services.cluster_service().recluster(tenant, now=datetime(2026, 1, 20, tzinfo=UTC))
        listed = invoke(
            handler_of("clusters_list.json"), with_tenant(load_event("clusters_list.json"), tenant)
        )
        missing = invoke(
            handler_of("clusters_get.json"), with_tenant(load_event("clusters_get.json"), tenant)
        )
    finally:
        services.reset()
    assert listed.status == 200, listed.body
    assert [c["size"] for c in listed.body["data"]] == [3]
    assert missing.status == 404


# --- conversations -----------------------------------------------------------------------------

CREATED_KEYS = {"id", "promptId", "status", "createdAt", "_links"}


def with_conversation(event: dict[str, Any], conversation_id: str) -> dict[str, Any]:
    """The event aimed at another conversation (the files carry a placeholder id)."""
    changed = copy.deepcopy(event)
    placeholder = event["pathParameters"]["id"]
    changed["path"] = event["path"].replace(placeholder, conversation_id)
    changed["requestContext"]["path"] = event["requestContext"]["path"].replace(
        placeholder, conversation_id
    )
    changed["pathParameters"] = {"id": conversation_id}
    return changed


def create_from(name: str, tenant: str) -> dict[str, Any]:
    answer = invoke(handler_of(name), base64_body(with_tenant(load_event(name), tenant)))
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.body
    return body


@pytest.mark.parametrize(
    "name", [n for n in CONVERSATION_FILES if n.startswith("conversations_create")]
)
def test_conversation_create_files_answer_as_seed_004_shows(dynamodb: Any, name: str) -> None:
    event = load_event(name)
    sent = json.loads(event["body"])

    answer = invoke(handler_of(name), with_tenant(event, fresh_tenant()))

    assert answer.status == 200, answer.body
    assert answer.headers["x-request-id"] == event["requestContext"]["requestId"]
    assert set(answer.body) == CREATED_KEYS
    assert answer.body["promptId"] == sent["promptId"]
    assert answer.body["status"] == sent.get("status", "completed")
    link = answer.body["_links"]["appendMessages"]
    assert link["href"] == f"/api/v1/conversations/{answer.body['id']}/messages"
    assert link["method"] == "POST"


def test_conversation_files_run_the_live_flow(dynamodb: Any) -> None:
    """create (active) → append (the documented body) → get → list → insights (pending)."""
    tenant = fresh_tenant()
    conversation_id = create_from("conversations_create_live.json", tenant)["id"]

    def send(name: str) -> Any:
        event = load_event(name)
        if event["pathParameters"]:
            event = with_conversation(event, conversation_id)
        return invoke(handler_of(name), with_tenant(event, tenant))

    appended = send("conversations_append.json")
    assert appended.status == 200, appended.body
    assert appended.body["messages"] == [
        {"role": "user", "content": "Can you check my order status?"},
        {"role": "assistant", "content": "Sure \u2014 what's your order number?"},
    ]
    assert appended.body["content"] == (
        "User: Can you check my order status?\nAssistant: Sure \u2014 what's your order number?"
    )
    assert appended.body["metadata"] == {"sessionId": "sess_abc"}
    assert appended.body["status"] == "active"

    got = send("conversations_get.json")
    assert got.status == 200, got.body
    assert got.body["messages"] == appended.body["messages"]
    assert got.body["insights"] is None

    listed = send("conversations_list.json")  # filters status=completed: the live one is not
    assert listed.status == 200, listed.body
    assert listed.body["data"] == []
    assert listed.body["pagination"] == {"total": 0, "limit": 20, "offset": 0, "nextCursor": None}

    insights = send("conversations_insights.json")
    assert insights.status == 404, insights.body
    assert insights.body["error"]["code"] == "NOT_FOUND"
    assert "pending" in insights.body["error"]["message"]


def test_conversation_list_file_lists_the_created_ones(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    first = create_from("conversations_create.json", tenant)
    second = create_from("conversations_create_structured.json", tenant)
    event = with_tenant(load_event("conversations_list.json"), tenant)

    answer = invoke(handler_of("conversations_list.json"), event)

    assert answer.status == 200, answer.body
    assert [c["id"] for c in answer.body["data"]] == [second["id"], first["id"]]  # newest first
    assert answer.body["data"][0] == {
        "id": second["id"],
        "promptId": "prompt_123",
        "status": "completed",
        "hasInsights": False,
        "createdAt": second["createdAt"],
        "title": "Hello",  # its first user message
        "messageCount": 2,
        "updatedAt": second["createdAt"],
        "promptName": None,
        "agentId": None,
        "agentName": None,
        "llmModel": None,
    }
    assert answer.body["pagination"]["total"] == 2


@pytest.mark.parametrize(
    "name", [n for n in CONVERSATION_FILES + RUNS_FILES if load_event(n)["pathParameters"]]
)
def test_conversation_files_with_the_placeholder_id_are_404(dynamodb: Any, name: str) -> None:
    """As shipped (`sam local invoke -e`), they name a conversation that does not exist."""
    answer = invoke(handler_of(name), load_event(name))
    assert answer.status == 404, answer.body
    assert answer.body["error"]["code"] == "NOT_FOUND"


# --- runs (the Converra SDK's routes) ----------------------------------------------------------


def read_back(conversation_id: str, tenant: str) -> dict[str, Any]:
    """The conversation as GET /api/v1/conversations/{id} answers it."""
    event = with_conversation(
        with_tenant(load_event("conversations_get.json"), tenant), conversation_id
    )
    answer = invoke(handler_of("conversations_get.json"), event)
    assert answer.status == 200, answer.body
    body: dict[str, Any] = answer.body
    return body


@pytest.mark.parametrize("name", [n for n in RUNS_FILES if n.startswith("runs_create")])
def test_runs_create_files_store_every_message_as_sent(dynamodb: Any, name: str) -> None:
    event = load_event(name)
    sent = json.loads(event["body"])
    tenant = fresh_tenant()

    answer = invoke(handler_of(name), with_tenant(event, tenant))

    assert answer.status == 200, answer.body
    assert set(answer.body) == {"data"}
    assert set(answer.body["data"]) == CREATED_KEYS
    assert answer.body["data"]["status"] == sent["status"]
    stored = read_back(answer.body["data"]["id"], tenant)
    assert stored["messages"] == sent["messages"]
    assert stored["metadata"] == sent["metadata"]
    fields = ("agentName", "userId", "sessionId", "title", "llmModel", "toolDefinitions")
    assert {k: stored[k] for k in fields if k in sent} == {k: sent[k] for k in fields if k in sent}


def test_runs_files_run_the_sdk_live_flow(dynamodb: Any) -> None:
    """create (active) → append (plain snake_case dicts, completes it) → insights → config."""
    tenant = fresh_tenant()
    run_id = create_from("runs_create_live.json", tenant)["data"]["id"]

    def send(name: str) -> Any:
        event = load_event(name)
        if event["pathParameters"]:
            event = with_conversation(event, run_id)
        return invoke(handler_of(name), with_tenant(event, tenant))

    appended = send("runs_append.json")
    assert appended.status == 200, appended.body
    run = appended.body["data"]
    assert run["status"] == "completed"
    assert run["sessionId"] == "sess_abc"
    assert run["metadata"] == {"source": "sdk", "resolved": True}
    assert run["messages"] == [
        {"role": "user", "content": "Hello, I need help"},
        {
            "role": "assistant",
            "content": "Hi! How can I help you today?",
            "usage": {"promptTokens": 12, "completionTokens": 9},
            "latencyMs": 310,
        },
        {"role": "user", "content": "Can you check my order status?"},
    ]
    assert read_back(run_id, tenant)["messages"] == run["messages"]

    insights = send("runs_insights.json")
    assert insights.status == 200, insights.body
    # created with a free-text agentName only: linked to no prompt, so never analyzed
    assert insights.body["data"]["conversationId"] == run_id
    assert insights.body["data"]["status"] == "pending"  # agentName links an agent


def test_sdk_config_and_agents_match_files_answer_honestly(dynamodb: Any) -> None:
    config = invoke(handler_of("sdk_config.json"), load_event("sdk_config.json"))
    assert config.status == 200, config.body
    assert config.body == {
        "data": {
            "testingMode": "simulation",
            "captureEnabled": True,
            "activeOptimizations": [],
            "agentHashes": {},
        }
    }
    match = invoke(handler_of("agents_match.json"), load_event("agents_match.json"))
    assert match.status == 200, match.body
    assert match.body == {"data": {"matched": False, "agentId": None}}


# --- authorizer --------------------------------------------------------------------------------


AUTHORIZER_FILE = "authorizer_request.json"


def authorizer_event(authorization: str | None, header: str = "Authorization") -> dict[str, Any]:
    event = load_event(AUTHORIZER_FILE)
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Authorization")
    if authorization is not None:
        event["headers"][header] = authorization
        event["multiValueHeaders"][header] = [authorization]
    return event


def authorize(event: dict[str, Any]) -> Any:
    handler = handler_of(AUTHORIZER_FILE)
    assert function_for(EVENTS_DIR / AUTHORIZER_FILE) == AUTHORIZER
    return handler(event, LambdaContext())


@pytest.mark.parametrize(
    ("header", "scheme"), [("Authorization", "Bearer"), ("authorization", "bearer")]
)
def test_authorizer_events_file_allows_a_live_key(
    api_keys: dict[str, str], header: str, scheme: str
) -> None:
    event = authorizer_event(f"{scheme} {api_keys['acme']}", header)

    answer = authorize(event)

    assert answer["principalId"] == "acme"
    assert answer["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*",
            }
        ],
    }
    context = answer["context"]
    assert set(context) == {"tenantId", "keyId"}
    assert context["tenantId"] == "acme"
    assert context["keyId"].startswith("key_")
    assert all(isinstance(v, str) for v in context.values())  # API Gateway wants flat values


def placeholder_authorization() -> str:
    value: str = load_event(AUTHORIZER_FILE)["headers"]["Authorization"]
    return value


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(placeholder_authorization(), id="file-placeholder-key"),
        pytest.param(None, id="no-header"),
        pytest.param("", id="empty-header"),
        pytest.param("Basic YWNtZTpzZWNyZXQ=", id="basic"),
        pytest.param("Bearer", id="bearer-without-key"),
    ],
)
def test_authorizer_events_file_refuses_with_unauthorized(
    api_keys: dict[str, str], authorization: str | None
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$") as raised:
        authorize(authorizer_event(authorization))
    assert type(raised.value) is Exception  # exactly what makes API Gateway answer 401


def test_authorizer_refuses_a_live_key_under_basic(api_keys: dict[str, str]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorizer_event(f"Basic {api_keys['acme']}"))


def test_otel_traces_events_file_stores_its_conversation(dynamodb: Any) -> None:
    """Sent base64-encoded, as API Gateway does, for a fresh tenant."""
    tenant = fresh_tenant()
    event = base64_body(with_tenant(load_event("otel_traces_moda.json"), tenant))
    answer = invoke(handler_of("otel_traces_moda.json"), event)
    assert answer.status == 200, answer.body
    conversation, roles = OTEL_TRACES_CONVERSATION
    records = records_of(tenant, conversation)
    assert [r["role"] for r in records] == roles
    assert records[-1]["output_tokens"] == 12
    assert {r["user_id"] for r in records} == {"user-42"}


# --- webhooks ----------------------------------------------------------------------------------


def webhook_for(tenant: str, url: str, events: list[str]) -> Any:
    from shared import services
    from shared.dynamo import Deadline
    from shared.webhooks.models import Webhook, new_secret

    webhook = Webhook(
        id="wh_01JHBVX3V8T2Q6R9M4K7N5P0SA",
        url=url,
        events=events,
        description=None,
        created_at="2024-01-15T10:00:00.000Z",
        secret=new_secret(),
    )
    services.webhook_store().put(tenant, webhook, Deadline(5))
    return webhook


def test_webhook_files_create_list_and_refuse_the_placeholder_id(
    dynamodb: Any, fake_dns: Any
) -> None:
    tenant = fresh_tenant()
    created = invoke(
        handler_of("webhooks_create.json"),
        with_tenant(base64_body(load_event("webhooks_create.json")), tenant),
    )
    assert created.status == 201, created.body
    assert created.body["url"] == "https://hooks.example.com/parley"
    assert created.body["events"] == [
        "conversation.updated",
        "conversation.completed",
        "insights.ready",
    ]
    assert created.body["secret"].startswith("whsec_")

    listed = invoke(
        handler_of("webhooks_list.json"), with_tenant(load_event("webhooks_list.json"), tenant)
    )
    assert [w["id"] for w in listed.body["data"]] == [created.body["id"]]

    for name in ("webhooks_delete.json", "webhooks_test.json", "webhooks_rotate_secret.json"):
        answer = invoke(handler_of(name), with_tenant(load_event(name), tenant))
        assert answer.status == 404, (name, answer.body)
        assert answer.body["error"]["code"] == "NOT_FOUND"


def test_webhook_fanout_file_yields_the_events_of_its_records(dynamodb: Any) -> None:
    import boto3

    from tests.webhook_support import queued

    tenant = fresh_tenant()
    text = (EVENTS_DIR / "webhook_fanout.json").read_text()
    event = json.loads(text.replace('"acme#', f'"{tenant}#').replace('"acme"', f'"{tenant}"'))
    webhook = webhook_for(
        tenant,
        "https://hooks.example.com/parley",
        [
            "conversation.created",
            "conversation.updated",
            "conversation.completed",
            "insights.ready",
        ],
    )

    result = handler_of("webhook_fanout.json")(event, LambdaContext())

    assert result == {"batchItemFailures": []}
    messages = queued(boto3.client("sqs", region_name="us-east-1"), tenant)
    assert sorted(m["type"] for m in messages) == [
        "conversation.completed",
        "conversation.created",
        "conversation.updated",
        "conversation.updated",
        "insights.ready",
    ]  # INSERT; MODIFY (append); MODIFY (append, completed); MODIFY (insights); REMOVE: none
    assert {m["webhookId"] for m in messages} == {webhook.id}
    updates = sorted(
        (m["data"] for m in messages if m["type"] == "conversation.updated"),
        key=lambda data: data["messageCount"],
    )
    assert updates[0]["changedFields"] == ["content", "messages", "metadata", "updatedAt"]
    assert updates[1]["changedFields"] == ["content", "messages", "status", "updatedAt"]
    (ready,) = (m for m in messages if m["type"] == "insights.ready")
    assert ready["data"]["insights"]["sentiment"] == "positive"


def test_webhook_delivery_file_as_shipped_names_no_endpoint(dynamodb: Any) -> None:
    event = load_event("webhook_delivery.json")
    assert handler_of("webhook_delivery.json")(event, LambdaContext()) == {"batchItemFailures": []}


def test_webhook_delivery_file_delivers_a_verifiable_event(
    dynamodb: Any, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from standardwebhooks import Webhook as Verifier

    from shared import services

    monkeypatch.setenv("PARLEY_LOCAL_MODE", "1")
    services.reset()
    try:
        tenant = fresh_tenant()
        webhook = webhook_for(tenant, receiver.url, ["conversation.updated"])
        event = load_event("webhook_delivery.json")
        record = event["Records"][0]
        body = json.loads(record["body"])
        record["body"] = json.dumps({**body, "tenant": tenant})

        result = handler_of("webhook_delivery.json")(event, LambdaContext())

        assert result == {"batchItemFailures": []}
        (request,) = receiver.wait_for(1)
        payload = Verifier(webhook.secret).verify(request.body, request.headers)
        assert payload == {k: body[k] for k in ("type", "timestamp", "data")}
        assert request.headers["webhook-id"] == body["eventId"]
    finally:
        monkeypatch.delenv("PARLEY_LOCAL_MODE")
        services.reset()


# --- stream workers ------------------------------------------------------------------------------


def test_insights_worker_file_passes_the_template_filter() -> None:
    (mapping,) = (
        m for m in stream_mappings(load_template()) if m.function.logical_id.startswith("Insights")
    )
    (record,) = load_event("insights_worker_completed.json")["Records"]
    assert any(matches(pattern, record) for pattern in mapping.patterns)


def test_insights_worker_file_analyzes_a_stored_conversation(dynamodb: Any) -> None:
    """The file's record, pointed at a conversation really stored and completed, through the
    worker's handler: insights are stored once; the same event again changes nothing."""
    from tests.integration.conversations import create, insights

    tenant = f"t{uuid.uuid4().hex[:12]}"
    created = create(
        {
            "promptId": "prompt_123",
            "content": "User: Could you resend my invoice for March?\n"
            "Assistant: I've found the invoice and sent it again.\nUser: Perfect, thank you!",
        },
        tenant=tenant,
    )
    conversation_id = created.body["id"]
    event = load_event("insights_worker_completed.json")
    text = json.dumps(event).replace(
        "acme#conv_01JJ0000000000000000000000", f"{tenant}#{conversation_id}"
    )
    event = json.loads(text)
    handler = handler_for(FUNCTIONS["InsightsWorkerFunction"])

    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    stored = insights(conversation_id, tenant=tenant)
    assert stored.status == 200, stored.body
    assert stored.body["taskCompleted"] is True
    assert stored.body["sentiment"] == "positive"

    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert insights(conversation_id, tenant=tenant).body == stored.body


def test_summaries_worker_file_passes_the_filter_except_its_trace_map_item() -> None:
    (mapping,) = (
        m for m in stream_mappings(load_template()) if m.function.logical_id.startswith("Summar")
    )
    records = load_event("summaries_worker_records.json")["Records"]
    passed = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records if mapping_wants(mapping, r)]
    assert len(passed) == len(records) - 1
    assert not any(pk.startswith("trace|") for pk in passed)


def mapping_wants(mapping: Any, record: dict[str, Any]) -> bool:
    return any(matches(pattern, record) for pattern in mapping.patterns)


def test_summaries_worker_file_summarizes_its_conversations(dynamodb: Any) -> None:
    """The file as `sam local invoke` sends it (no filter), for a fresh tenant, through the
    worker's handler: two conversations listed; the same event again changes nothing."""
    from functions.ingest_conversations.app import handler as list_handler

    tenant = fresh_tenant()
    text = (EVENTS_DIR / "summaries_worker_records.json").read_text()
    event = json.loads(text.replace('"acme#', f'"{tenant}#').replace("trace|acme|", "trace|x|"))
    handler = handler_for(FUNCTIONS["SummariesWorkerFunction"])

    def listed() -> dict[str, Any]:
        request = api_event("GET", "/v1/conversations", resource="/v1/conversations", tenant=tenant)
        answer = invoke(list_handler, request)
        assert answer.status == 200, answer.body
        return {c["conversationId"]: c for c in answer.body["data"]}

    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    found = listed()
    assert found == {
        "conv-abc123": {
            "conversationId": "conv-abc123",
            "environment": "production",
            "sources": ["chat"],
            "recordCount": 2,  # two INSERTs; the MODIFY stored the first record again
            "firstActivityAt": "2025-01-20T14:35:00.123Z",
            "lastActivityAt": "2025-01-20T14:35:00.123Z",
        },
        "email-thread-42": {
            "conversationId": "email-thread-42",
            "environment": "staging",
            "sources": ["email"],
            "recordCount": 1,
            "firstActivityAt": "2025-01-20T14:35:00.123Z",
            "lastActivityAt": "2025-01-20T14:35:00.123Z",
        },
    }
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert listed() == found


def test_lake_records_worker_file_writes_rows_and_its_tombstone(dynamodb: Any) -> None:
    """The file as `sam local invoke` sends it, for a fresh tenant: its three records are rows
    (the MODIFY is a newer version of the first), the removed email record is a tombstone; the
    same event again adds no row for readers."""
    from shared import services
    from shared.lake.query import tenant_rows
    from shared.lake.store import connect

    tenant = fresh_tenant()
    text = (EVENTS_DIR / "lake_records_worker.json").read_text()
    event = json.loads(text.replace('"acme#', f'"{tenant}#').replace("trace|acme|", "trace|x|"))
    handler = handler_for(FUNCTIONS["LakeRecordsWorkerFunction"])

    def live() -> list[tuple[str, str]]:
        con = connect()
        relation = tenant_rows(con, services.lake_store(), tenant)
        return sorted(relation.select("conversation_id, text").fetchall())

    for _ in range(2):
        assert handler(event, LambdaContext()) == {"batchItemFailures": []}
        assert live() == [
            ("conv-abc123", "Hello, how are you?"),
            ("conv-abc123", "I am doing well, thank you for asking!"),
        ]


def test_lake_conversations_worker_file_writes_a_stored_conversations_rows(dynamodb: Any) -> None:
    """The file's MODIFY, pointed at a conversation really stored: its messages are rows; the
    file's REMOVE (a conversation the table no longer has) leaves only tombstones."""
    from shared import services
    from shared.lake.query import tenant_rows
    from shared.lake.store import connect
    from tests.integration.conversations import create

    tenant = fresh_tenant()
    created = create(
        {"promptId": "prompt_123", "content": "User: Where is my parcel?\nAssistant: On its way."},
        tenant=tenant,
    )
    conversation_id = created.body["id"]
    text = (EVENTS_DIR / "lake_conversations_worker.json").read_text()
    event = json.loads(
        text.replace("acme#conv_01JJ0000000000000000000000", f"{tenant}#{conversation_id}").replace(
            '"acme#', f'"{tenant}#'
        )
    )
    handler = handler_for(FUNCTIONS["LakeConversationsWorkerFunction"])
    assert handler(event, LambdaContext()) == {"batchItemFailures": []}
    con = connect()
    relation = tenant_rows(con, services.lake_store(), tenant)
    assert sorted(relation.select("record_id, role, text").fetchall()) == [
        (f"{conversation_id}:0", "user", "Where is my parcel?"),
        (f"{conversation_id}:1", "assistant", "On its way."),
    ]


def test_lake_compaction_file_runs_a_compaction(dynamodb: Any) -> None:
    handler = handler_for(FUNCTIONS["LakeCompactionFunction"])
    report = handler(load_event("lake_compaction_schedule.json"), LambdaContext())
    assert report["failed"] == []
    assert {"partitions", "filesMerged", "rowsWritten"} <= set(report)
