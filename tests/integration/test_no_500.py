"""No input ever makes a handler answer 500: every route, fed arbitrary JSON, valid events with
one field swapped for a hostile value, hostile numbers, odd headers and query strings."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.ingest.app import handler as ingest
from functions.ingest_multi.app import handler as ingest_multi
from functions.ingest_vogent_raw.app import handler as ingest_vogent_raw
from functions.records.app import handler as list_records
from tests import seeds
from tests.support import Answer, api_event, invoke

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
    answer = invoke(
        list_records,
        api_event(
            "GET",
            f"/v1/conversations/{quote(conversation_id, safe='')}/records",
            resource="/v1/conversations/{conversationId}/records",
            path_params={"conversationId": conversation_id},
            query=query or None,
        ),
    )
    assert_not_500(answer)
