"""No input ever makes a handler answer 5xx (but a storage fault's retryable 503), and every
refusal comes in the route's own envelope: every route of both APIs (ingest, records, the
ingest conversations list, conversations, runs, sdk, webhooks, OTLP, console), fed arbitrary
JSON, valid bodies with one field swapped for a hostile value, hostile numbers, odd headers,
path ids and query strings, and the inputs issue 20 names."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.agents_match.app import handler as agents_match
from functions.console.app import handler as console
from functions.conversations_append.app import handler as conversations_append
from functions.conversations_create.app import handler as conversations_create
from functions.conversations_get.app import handler as conversations_get
from functions.conversations_insights.app import handler as conversations_insights
from functions.conversations_list.app import handler as conversations_list
from functions.ingest.app import handler as ingest
from functions.ingest_conversations.app import handler as ingest_conversations
from functions.ingest_multi.app import handler as ingest_multi
from functions.ingest_vogent_raw.app import handler as ingest_vogent_raw
from functions.otel_logs.app import handler as otel_logs
from functions.otel_metrics.app import handler as otel_metrics
from functions.otel_traces.app import handler as otel_traces
from functions.records.app import handler as list_records
from functions.runs_append.app import handler as runs_append
from functions.runs_create.app import handler as runs_create
from functions.runs_insights.app import handler as runs_insights
from functions.sdk_config.app import handler as sdk_config
from functions.webhooks_create.app import handler as webhooks_create
from functions.webhooks_delete.app import handler as webhooks_delete
from functions.webhooks_list.app import handler as webhooks_list
from functions.webhooks_test.app import handler as webhooks_test
from shared.body import MAX_JSON_DEPTH
from shared.conversations.ids import new_conversation_id
from shared.webhooks.models import new_webhook_id
from tests import seeds
from tests.otel_support import export_request, moda_chat, span
from tests.support import Answer, LambdaContext, api_event, invoke, records_event
from tests.webhook_support import FAKE_DNS

pytestmark = pytest.mark.usefixtures("dynamodb")

ROUTES = {
    "/v1/ingest": ingest,
    "/v1/ingest/multi": ingest_multi,
    "/v1/ingest/vogent-raw": ingest_vogent_raw,
}
# Valid events of every kind each route takes: mutated one field at a time below.
VALID_EVENTS = {
    "/v1/ingest": [
        *seeds.body("ingest_standard")["events"],
        *seeds.body("ingest_mixed")["events"],
        {
            "conversation_id": "c",
            "role": "assistant",
            "content": [
                {"type": "text", "text": "t"},
                {"type": "tool_result", "tool_use_id": "u", "content": [{"text": "r"}]},
            ],
            "content_blocks": [{"type": "thinking", "text": "hm"}],
            "timestamp": "2024-01-15T10:30:00Z",
        },
        {
            "messageType": "call",
            "id": "call-1",
            "conversationId": "c",
            "transcript": [{"role": "user", "content": "hi"}],
            "duration": 3.5,
            "callType": "phone",
        },
        {
            "messageType": "email",
            "id": "e-1",
            "conversationId": "c",
            "role": "user",
            "body": "b",
            "to": ["x@example.com"],
        },
    ],
    "/v1/ingest/multi": seeds.body("ingest_multi_mixed")["events"],
    "/v1/ingest/vogent-raw": seeds.body("ingest_vogent_raw_call")["events"],
}

hostile_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**15, max_value=10**4000),
    st.integers(min_value=-(10**300), max_value=-1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 2**53, 2**63, 10**309, -(10**400)]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    hostile_numbers,
    st.text(max_size=20),
    st.sampled_from(["", " ", "<|silence|>", "2024-01-15T10:30:00Z", "9999-12-31T23:59:59-12:00"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value: dict keys and list indexes, nested."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def _number_at(value: Any, path: tuple[Any, ...]) -> bool:
    for step in path:
        value = value[step]
    return type(value) in (int, float)


@st.composite
def mutated_events(draw: st.DrawFn, route: str) -> list[Any]:
    """A few valid events of the route, one place in one of them replaced or added."""
    events = json.loads(
        json.dumps(draw(st.lists(st.sampled_from(VALID_EVENTS[route]), min_size=1, max_size=3)))
    )
    target = draw(st.integers(0, len(events) - 1))
    paths = _paths(events[target])
    numbers = [p for p in paths if _number_at(events[target], p)]
    value = draw(json_values)
    if numbers and draw(st.booleans()):  # a number the code may compute with
        paths, value = numbers, draw(hostile_numbers)
    if paths and draw(st.booleans()):
        *parents, last = draw(st.sampled_from(paths))
        node = events[target]
        for step in parents:
            node = node[step]
        node[last] = value
    else:  # a new field, or a replaced event
        key = draw(st.sampled_from(["extra", "timestamp", "id", "environment", "messageType", ""]))
        if isinstance(events[target], dict) and key:
            events[target][key] = value
        else:
            events[target] = value
    return events


@st.composite
def bodies(draw: st.DrawFn, route: str) -> Any:
    return draw(
        st.one_of(
            json_values,
            st.builds(lambda events: {"events": events}, mutated_events(route)),
            st.builds(
                lambda events, env: {"events": events, "environment": env},
                mutated_events(route),
                json_values,
            ),
        )
    )


header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300) | st.text(
    st.characters(exclude_categories=["Cc", "Cs"]), max_size=20
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": header_text,
        "Prefer": st.sampled_from(["partial-success", "respond-async", "", "partial-success, x"]),
    },
)


def assert_not_500(answer: Answer) -> None:
    assert answer.status < 500 or answer.status == 503, answer.body
    if answer.status >= 400:
        assert answer.body["requestId"] == answer.headers["x-request-id"]


NO_500 = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("route", list(ROUTES))
@NO_500
@given(data=st.data())
def test_no_body_makes_an_ingest_route_answer_500(route: str, data: st.DataObject) -> None:
    body = data.draw(bodies(route))
    answer = invoke(
        ROUTES[route],
        api_event("POST", route, raw_body=json.dumps(body).encode(), headers=data.draw(headers)),
    )
    assert_not_500(answer)


HOSTILE_NUMBERS = [-1, -0.0, 1e308, 2**63, 10**309, -(10**400), int("9" * 4300)]


def _every_number_swapped() -> list[Any]:
    cases = []
    for route, events in VALID_EVENTS.items():
        for n, event in enumerate(events):
            for path in _paths(event):
                if not _number_at(event, path):
                    continue
                for number in HOSTILE_NUMBERS:
                    changed = json.loads(json.dumps(event))
                    *parents, last = path
                    node = changed
                    for step in parents:
                        node = node[step]
                    node[last] = number
                    name = f"{route} event{n} {'.'.join(map(str, path))}={str(number)[:12]}"
                    cases.append(pytest.param(route, [changed], id=name))
    return cases


@pytest.mark.parametrize(("route", "events"), _every_number_swapped())
def test_hostile_numbers_in_every_numeric_field_are_refused_or_stored(
    route: str, events: list[Any]
) -> None:
    answer = invoke(ROUTES[route], api_event("POST", route, body={"events": events}))
    assert answer.status in (200, 400, 413), answer.body


query_values = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**6), 10**6).map(str),
    st.integers(min_value=10**9).map(str),
    st.just("1" * 5000),
    st.sampled_from(["\u0661\u0660", "1e3", " 5", "0x10", "", "eyJwayI6ICJ4In0", "e30"]),
)


@NO_500
@given(
    conversation_id=st.text(max_size=300),
    query=st.dictionaries(
        st.sampled_from(["limit", "cursor", "environment", "other"]), query_values, max_size=3
    ),
)
def test_no_query_makes_the_records_route_answer_500(
    conversation_id: str, query: dict[str, str]
) -> None:
    assert_not_500(invoke(list_records, records_event(conversation_id, query=query)))


# --- every route of both APIs ------------------------------------------------------------------
# "Never a 5xx without a storage fault, always the route's own error envelope": each route is
# fed hostile path ids, query strings and bodies, and every refusal must come in its API's
# envelope (the ingest API's, the conversations API's, or OTLP's google.rpc.Status).


Envelope = Literal["ingest", "conversations", "otlp"]
CONVERSATION_CODES = {
    "VALIDATION_ERROR",
    "UNAUTHORIZED",
    "NOT_FOUND",
    "CONFLICT",
    "PAYLOAD_TOO_LARGE",
    "RATE_LIMITED",
    "SERVICE_UNAVAILABLE",
}


@dataclass(frozen=True)
class Api:
    name: str
    handler: Any
    method: str
    resource: str  # the path template; `{id}` / `{conversationId}` filled per example
    envelope: Envelope
    query: tuple[str, ...] = ()  # the parameters the route reads
    body: Any = None  # a valid body (mutated per example); None: the route takes none


NOW = datetime(2026, 1, 1, tzinfo=UTC)
CREATE = {
    "promptId": "p",
    "content": "User: hi\nAssistant: hello",
    "status": "completed",
    "metadata": {"k": "v"},
    "llmModel": "gpt-4o",
    "idempotencyKey": "k1",
}
APPEND = {
    "messages": [{"role": "user", "content": "hi", "latencyMs": 5, "timestamp": "2024-01-01"}],
    "status": "active",
    "metadata": {"k": "v"},
}
RUN = {
    "agentName": "Bot",
    "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "ho", "latencyMs": 12.5, "usage": {"promptTokens": 3}},
    ],
    "status": "completed",
}
WEBHOOK = {"url": "https://hooks.example.com/h", "events": ["conversation.created"]}


def otlp_json(request: Any) -> Any:
    """An export request in OTLP/JSON: protobuf's JSON form, ids in hex rather than base64."""

    def hex_ids(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex() if k in _ID_KEYS else hex_ids(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [hex_ids(item) for item in node]
        return node

    return hex_ids(json.loads(json_format.MessageToJson(request)))


_ID_KEYS = {"traceId", "spanId", "parentSpanId"}
OTLP = otlp_json(export_request([moda_chat("c", [("user", "hi")], "ho")]))

APIS = [
    Api(
        "records",
        list_records,
        "GET",
        "/v1/conversations/{conversationId}/records",
        "ingest",
        ("limit", "cursor", "environment"),
    ),
    Api(
        "ingest conversations",
        ingest_conversations,
        "GET",
        "/v1/conversations",
        "ingest",
        ("environment", "source", "since", "until", "limit", "cursor"),
    ),
    *(
        Api(route, handler, "POST", route, "ingest", (), {"events": VALID_EVENTS[route]})
        for route, handler in ROUTES.items()
    ),
    Api(
        "conversations list",
        conversations_list,
        "GET",
        "/api/v1/conversations",
        "conversations",
        ("limit", "offset", "status", "promptId", "hasInsights", "cursor"),
    ),
    Api(
        "conversations create",
        conversations_create,
        "POST",
        "/api/v1/conversations",
        "conversations",
        (),
        CREATE,
    ),
    Api(
        "conversations get",
        conversations_get,
        "GET",
        "/api/v1/conversations/{id}",
        "conversations",
        ("includeInsights",),
    ),
    Api(
        "conversations append",
        conversations_append,
        "POST",
        "/api/v1/conversations/{id}/messages",
        "conversations",
        (),
        APPEND,
    ),
    Api(
        "conversations insights",
        conversations_insights,
        "GET",
        "/api/v1/conversations/{id}/insights",
        "conversations",
    ),
    Api("runs create", runs_create, "POST", "/api/v1/runs", "conversations", (), RUN),
    Api("runs append", runs_append, "POST", "/api/v1/runs/{id}/messages", "conversations", (), RUN),
    Api("runs insights", runs_insights, "GET", "/api/v1/runs/{id}/insights", "conversations"),
    Api("sdk config", sdk_config, "GET", "/api/v1/sdk/config", "conversations"),
    Api(
        "sdk agents match",
        agents_match,
        "POST",
        "/api/v1/sdk/agents/match",
        "conversations",
        (),
        {"content": "You are a bot"},
    ),
    Api(
        "webhooks create", webhooks_create, "POST", "/api/v1/webhooks", "conversations", (), WEBHOOK
    ),
    Api("webhooks list", webhooks_list, "GET", "/api/v1/webhooks", "conversations"),
    Api("webhooks delete", webhooks_delete, "DELETE", "/api/v1/webhooks/{id}", "conversations"),
    Api("webhooks test", webhooks_test, "POST", "/api/v1/webhooks/{id}/test", "conversations"),
    Api("otlp traces", otel_traces, "POST", "/v1/traces", "otlp", (), OTLP),
    Api("otlp logs", otel_logs, "POST", "/v1/logs", "otlp", (), {"resourceLogs": []}),
    Api("otlp metrics", otel_metrics, "POST", "/v1/metrics", "otlp", (), {"resourceMetrics": []}),
]


@pytest.fixture(scope="module", autouse=True)
def no_network_dns() -> Iterator[None]:
    """Webhook URLs resolve from tests.webhook_support's fake DNS (no network)."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in FAKE_DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (FAKE_DNS[host][0], port))]

    socket.getaddrinfo = getaddrinfo
    yield
    socket.getaddrinfo = real


def assert_own_envelope(answer: Answer, api: Api) -> None:
    """No 5xx but a storage fault's retryable 503; a refusal in the route's own envelope."""
    assert answer.status < 500 or (answer.status == 503 and _retryable(answer)), (
        api.name,
        answer.status,
        answer.body,
    )
    if answer.status < 400:
        return
    body = answer.body
    if api.envelope == "ingest":
        assert body["success"] is False, body
        assert body["requestId"] == answer.headers["x-request-id"]
        assert isinstance(body["message"], str)
    elif api.envelope == "conversations":
        assert set(body) == {"error"}, body
        assert body["error"]["code"] in CONVERSATION_CODES, body
        assert isinstance(body["error"]["message"], str)
    else:  # google.rpc.Status, JSON for a JSON request
        assert isinstance(body["message"], str), body
        assert answer.headers["x-request-id"] in body["message"]


def _retryable(answer: Answer) -> bool:
    body = answer.body
    return bool(body.get("retryable")) or body.get("error", {}).get("code") == "SERVICE_UNAVAILABLE"


def path_of(api: Api, path_id: str) -> tuple[str, dict[str, str] | None]:
    for name in ("{id}", "{conversationId}"):
        if name in api.resource:
            return api.resource.replace(name, quote(path_id, safe="")), {name[1:-1]: path_id}
    return api.resource, None


def call(
    api: Api,
    path_id: str,
    query: dict[str, str] | None,
    body: Any,
    headers: dict[str, str] | None = None,
) -> Answer:
    path, params = path_of(api, path_id)
    raw = json.dumps(body).encode() if body is not None else None
    return invoke(
        api.handler,
        api_event(
            api.method,
            path,
            resource=api.resource,
            path_params=params,
            query=query or None,
            raw_body=raw,
            headers=headers,
        ),
    )


def deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


# The inputs issue 20 names, plus their neighbours.
HOSTILE_QUERY_VALUES = [
    "1" * 4301,
    "0" * 5000 + "1",
    "\u0665",
    "\u0661\u0660",
    "-1",
    "1e3",
    "",
    "2024-13-45",
    "2024-02-30",
    "2024-01-15T25:00Z",
    "unknown-source",
    "eyJwayI6ICJ4In0",  # base64 of a JSON key: a cursor from before signing
    "e30",
    "Y29udl8wMUoxMjM0NTY3ODlBQkNERUZHSEpLTU5QUVJT",
    "%00",
    "\x00",
]
query_values_all = st.one_of(query_values, st.sampled_from(HOSTILE_QUERY_VALUES))
path_ids = st.one_of(
    st.text(max_size=60),
    st.builds(lambda: new_conversation_id(NOW)),  # well-formed, unknown
    st.builds(lambda: new_webhook_id(NOW)),
    st.sampled_from(["conv_" + "0" * 26, "wh_" + "Z" * 26, "conv_" + "U" * 26, "a" * 201]),
)
hostile_values = st.one_of(
    json_values,
    hostile_numbers,
    st.sampled_from(
        [
            "1" * 5000,  # a timestamp of 5,000 `1`s
            "https://hooks.example.com:0/h",  # port 0
            "https://hooks..example.com/h",
            "https://hooks.example.com:99999/h",
            deep(MAX_JSON_DEPTH - 4),
            deep(MAX_JSON_DEPTH + 1),
            deep(300),
            json.dumps({"messages": [{"role": "user", "content": "x"}], "metadata": deep(70)}),
            "{" * 500,
            "\ud800",
        ]
    ),
)


@st.composite
def mutated_body(draw: st.DrawFn, valid: Any) -> Any:
    """The route's valid body with one place replaced by a hostile value, or a key added."""
    body = json.loads(json.dumps(valid))
    paths = _paths(body)
    value = draw(hostile_values)
    if paths and draw(st.booleans()):
        *parents, last = draw(st.sampled_from(paths))
        node = body
        for step in parents:
            node = node[step]
        node[last] = value
    elif isinstance(body, dict):
        body[
            draw(st.sampled_from(["extra", "timestamp", "url", "content", "metadata", "cursor"]))
        ] = value
    return body


@st.composite
def requests(draw: st.DrawFn, api: Api) -> tuple[str, dict[str, str], Any]:
    path_id = draw(path_ids)
    names = st.sampled_from([*api.query, "other"]) if api.query else st.just("other")
    query = draw(st.dictionaries(names, query_values_all, max_size=4))
    body = None
    if api.body is not None:
        body = draw(st.one_of(json_values, mutated_body(api.body), st.just(api.body)))
    elif api.method == "POST":
        body = draw(st.one_of(st.none(), json_values))
    return path_id, query, body


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
@NO_500
@given(data=st.data())
def test_no_request_makes_any_route_answer_5xx(api: Api, data: st.DataObject) -> None:
    path_id, query, body = data.draw(requests(api))
    headers = {"Content-Type": "application/json"}
    assert_own_envelope(call(api, path_id, query, body, headers), api)


# Each input issue 20 names, sent where it belongs: an exact 400 naming its field.
NAMED_CASES = [
    ("conversations list", {"limit": "1" * 4301}, None, "limit"),
    ("conversations list", {"offset": "1" * 4301}, None, "offset"),
    ("conversations list", {"limit": "\u0665"}, None, "limit"),
    ("conversations list", {"status": "done"}, None, "status"),
    ("conversations list", {"cursor": "Y29udl8wMQ"}, None, "cursor"),
    ("conversations get", {"includeInsights": "maybe"}, None, "includeInsights"),
    ("records", {"limit": "\u0665"}, None, "limit"),
    ("records", {"limit": "1" * 4301}, None, "limit"),
    ("records", {"environment": "qa"}, None, "environment"),
    ("ingest conversations", {"source": "sms"}, None, "source"),
    ("ingest conversations", {"since": "2024-13-45"}, None, "since"),
    ("ingest conversations", {"since": "2024-02-30"}, None, "since"),
    ("ingest conversations", {"until": "2023-02-29T10:00Z"}, None, "until"),
    ("ingest conversations", {"limit": "\u0665"}, None, "limit"),
    ("ingest conversations", {"cursor": "eyJwayI6ICJ4In0"}, None, "cursor"),
    ("webhooks create", None, {**WEBHOOK, "url": "https://hooks.example.com:0/h"}, "url"),
    ("webhooks create", None, {**WEBHOOK, "url": "https://hooks..example.com/h"}, "url"),
    (
        "/v1/ingest",
        None,
        {
            "events": [
                {"conversation_id": "c", "role": "user", "message": "m", "timestamp": "1" * 5000}
            ]
        },
        "timestamp",
    ),
    (
        "/v1/ingest/multi",
        None,
        {"events": [{**seeds.body("ingest_multi_mixed")["events"][0], "timestamp": "1" * 5000}]},
        "timestamp",
    ),
    (
        "conversations create",
        None,
        {
            **CREATE,
            "content": json.dumps(
                {"messages": [{"role": "user", "content": "x"}], "metadata": deep(MAX_JSON_DEPTH)}
            ),
        },
        "content",
    ),
]


@pytest.mark.parametrize(("name", "query", "body", "field"), NAMED_CASES, ids=lambda v: str(v)[:30])
def test_each_named_input_is_a_400_naming_its_field(
    name: str, query: dict[str, str] | None, body: Any, field: str
) -> None:
    api = next(a for a in APIS if a.name == name)
    answer = call(api, new_conversation_id(NOW), query, body)
    assert answer.status == 400, answer.body
    assert_own_envelope(answer, api)
    if api.envelope == "ingest":
        errors = answer.body.get("errors") or []
        named = [e["field"] for e in errors] or [answer.body["message"]]
        assert any(field in str(n) for n in named), answer.body
    else:
        assert field in answer.body["error"].get("details", {}), answer.body


@pytest.mark.parametrize(
    "path", ["/", "/console/app.js", "/console/nope.js", "/console/index.html", "/console/%00"]
)
def test_the_console_routes_never_answer_5xx(path: str) -> None:
    event = api_event("GET", path, resource="/console/{file}" if path != "/" else "/")
    raw = console(event, LambdaContext())
    assert raw["statusCode"] < 500


# --- the inputs issue 20 names, across areas ------------------------------------------------


def _records_of(conversation: str) -> Answer:
    api = next(a for a in APIS if a.name == "records")
    return call(api, conversation, {"limit": "1000"}, None)


@pytest.mark.parametrize(
    "depth",
    [
        MAX_JSON_DEPTH,
        199,
        400,  # past the decoder's own limit: kept as the text it was sent as
    ],
)
def test_otlp_tool_arguments_nested_deep_are_refused_or_stored_readable(depth: int) -> None:
    conversation = f"otlp-deep-{depth}-{new_conversation_id(NOW)}"
    arguments = json.dumps(deep(depth))
    tool = span(
        {
            "gen_ai.conversation.id": conversation,
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "lookup",
            "gen_ai.tool.call.arguments": arguments,
        },
        name="execute_tool lookup",
    )
    body = otlp_json(export_request([tool]))
    api = next(a for a in APIS if a.name == "otlp traces")
    answer = call(api, "", None, body, {"Content-Type": "application/json"})
    assert_own_envelope(answer, api)
    listed = _records_of(conversation)
    assert listed.status == 200, listed.body
    rejected = int((answer.body or {}).get("partialSuccess", {}).get("rejectedSpans", 0))
    assert answer.status >= 400 or rejected or listed.body["data"], (answer.status, answer.body)
    for record in listed.body["data"]:
        assert "undecodable" not in record  # read back whole, whatever the span nested


@pytest.mark.parametrize("latency", [1e308, 10**400], ids=["1e308", "10**400"])
@pytest.mark.parametrize("name", ["runs create", "conversations create"])
def test_an_unbounded_latency_is_a_400_naming_it(name: str, latency: float) -> None:
    api = next(a for a in APIS if a.name == name)
    if name == "runs create":
        body: Any = json.loads(json.dumps(RUN))
        body["messages"][1]["latencyMs"] = latency
        field = "messages[1].latencyMs"
    else:
        body = {
            "promptId": "p",
            "status": "active",
            "content": json.dumps(
                {"messages": [{"role": "assistant", "content": "x", "latencyMs": latency}]}
            ),
        }
        field = "content.messages[0].latencyMs"
    answer = call(api, "", None, body)
    assert answer.status == 400, answer.body
    assert field in answer.body["error"]["details"], answer.body
