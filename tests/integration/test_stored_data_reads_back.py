"""Nothing stored can become unreadable: the deepest value each write route accepts reads back
with a 200, and an item whose record cannot be decoded is listed as its raw text with a flag
instead of failing the whole page."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest

from functions.ingest.app import handler as ingest
from functions.ingest_multi.app import handler as ingest_multi
from functions.ingest_vogent_raw.app import handler as ingest_vogent_raw
from functions.records.app import handler as list_records
from shared.body import MAX_JSON_DEPTH
from shared.ingest import codec
from tests.integration.conversations import create, error, get
from tests.support import Answer, api_event, invoke, nesting_depth, records_event

pytestmark = pytest.mark.usefixtures("dynamodb")


def nested(depth: int) -> Any:
    """An object nesting `depth` levels: {"a": {"a": ... {"a": 1}}}."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def post(handler: Any, path: str, body: Any) -> Answer:
    return invoke(handler, api_event("POST", path, body=body))


def records(conversation_id: str, **query: str) -> Answer:
    return invoke(list_records, records_event(conversation_id, query=query))


# Each route's event with one value as deep as a body allows there: `room` is how many levels
# the body spends above that value (body, events, event, ...).
def ingest_event(value: Any) -> dict[str, Any]:
    return {"conversation_id": "deep-ingest", "role": "user", "message": "m", "metadata": value}


def ingest_extra(value: Any) -> dict[str, Any]:
    return {"conversation_id": "deep-extra", "role": "user", "message": "m", "custom": value}


def multi_tool_call(value: Any) -> dict[str, Any]:
    return {
        "messageType": "tool_call",
        "id": "t-1",
        "conversationId": "deep-multi",
        "name": "lookup",
        "toolCallRequest": value,
        "toolCallResponse": value,
    }


def vogent_call(value: Any) -> dict[str, Any]:
    return {
        "id": "call-deep",
        "conversationId": "deep-vogent",
        "transcript": [
            {"text": "hello", "speaker": "AI"},
            {"text": "", "speaker": "AI", "functionCalls": [{"name": "f", "arguments": value}]},
        ],
    }


CASES = [
    pytest.param(ingest, "/v1/ingest", ingest_event, 3, "deep-ingest", id="ingest metadata"),
    pytest.param(ingest, "/v1/ingest", ingest_extra, 3, "deep-extra", id="ingest extra field"),
    pytest.param(ingest_multi, "/v1/ingest/multi", multi_tool_call, 3, "deep-multi", id="multi"),
    pytest.param(
        ingest_vogent_raw, "/v1/ingest/vogent-raw", vogent_call, 7, "deep-vogent", id="vogent"
    ),
]


@pytest.mark.parametrize(("handler", "path", "event", "room", "conversation"), CASES)
def test_the_deepest_accepted_value_reads_back(
    handler: Any, path: str, event: Any, room: int, conversation: str
) -> None:
    deepest = nested(MAX_JSON_DEPTH - room)
    answer = post(handler, path, {"events": [event(deepest)]})
    assert answer.status == 200, answer.body
    listed = records(conversation)
    assert listed.status == 200, listed.body
    assert listed.body["data"]
    for record in listed.body["data"]:
        # Wrapped into the stored record, still within the depth a body may have.
        assert nesting_depth(record) <= MAX_JSON_DEPTH
    text = json.dumps(listed.body["data"])
    assert json.dumps(deepest) in text
    # One level more and the body itself is refused, naming its depth.
    too_deep = post(handler, path, {"events": [event(nested(MAX_JSON_DEPTH - room + 1))]})
    assert too_deep.status == 400, too_deep.body
    assert "deeper than" in too_deep.body["message"]


def test_a_conversation_content_json_is_held_to_the_depth_rule() -> None:
    """The JSON form of `content` is decoded from inside a string field: its depth is checked
    like a body's, and the deepest accepted one reads back."""

    def content(depth: int) -> str:
        return json.dumps(
            {"messages": [{"role": "user", "content": "hi"}], "metadata": nested(depth)}
        )

    refused = create({"promptId": "p", "content": content(MAX_JSON_DEPTH)})
    err = error(refused, 400, "VALIDATION_ERROR")
    assert set(err["details"]) == {"content"}
    created = create({"promptId": "p", "content": content(MAX_JSON_DEPTH - 1)})
    assert created.status == 200, created.body
    read = get(created.body["id"])
    assert read.status == 200, read.body
    assert read.body["metadata"] == nested(MAX_JSON_DEPTH - 1)


# --- items that do not decode ------------------------------------------------------------------

BAD_RECORDS = {
    "not-json": {"S": "{not json"},
    "cut-short": {"S": '{"id": "x", "message": "hal'},
    "too-deep": {"S": "[" * 300 + "]" * 300},  # past the decoder's recursion limit
    "an-array": {"S": "[1, 2]"},
    "a-number": {"N": "5"},
    # The compressed form (shared/ingest/codec.py) gone wrong: an unknown format byte, cut
    # short, and not JSON inside.
    "unknown-format": {"B": b"\x09" + b"\x28\xb5\x2f\xfd"},
    "packed-cut-short": {
        "B": codec.encode(b'{"id": "x", "message": "' + b"m" * 400 + b'"}')["B"][:-2]
    },
    "packed-not-json": {"B": codec.encode(b"{not json")["B"]},
}


def as_json(rec: dict[str, Any]) -> dict[str, Any]:
    """A stored attribute value as the stand-in shows it: binary as base64."""
    return {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in rec.items()}


def test_an_undecodable_item_is_listed_raw_with_a_flag(dynamodb: Any) -> None:
    conversation = "undecodable"
    good = post(
        ingest,
        "/v1/ingest",
        {
            "events": [
                ingest_event({"k": "v"})
                | {"conversation_id": conversation, "timestamp": "2024-01-01T00:00:00Z"}
            ]
        },
    )
    assert good.status == 200, good.body
    table = os.environ["RECORDS_TABLE"]
    for n, (name, rec) in enumerate(BAD_RECORDS.items()):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"acme#{conversation}"},
                "sk": {"S": f"bad-{name}"},
                "ok": {"S": f"2024-01-02T00:00:00.000Z#{n:020d}#000000"},
                "env": {"S": "production"},
                "rec": rec,
            },
        )
    answer = records(conversation)
    assert answer.status == 200, answer.body
    data = answer.body["data"]
    assert data[0]["message"] == "m"
    assert "undecodable" not in data[0]
    flagged = {r["id"]: r for r in data[1:]}
    assert set(flagged) == {f"bad-{name}" for name in BAD_RECORDS}
    for name, rec in BAD_RECORDS.items():
        record = flagged[f"bad-{name}"]
        assert record["undecodable"] is True
        assert record["conversation_id"] == conversation
        if name == "packed-not-json":
            assert record["raw_record"] == "{not json"
        else:
            assert record["raw_record"] == rec.get(
                "S", json.dumps(as_json(rec), separators=(",", ":"))
            )
    # Paging over them works too, one at a time.
    seen, cursor = [], None
    while True:
        page = records(conversation, limit="1", **({"cursor": cursor} if cursor else {}))
        assert page.status == 200, page.body
        seen += [r["id"] for r in page.body["data"]]
        cursor = page.body["nextCursor"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in data]


def test_a_summary_item_that_cannot_be_read_is_listed_not_a_500(dynamodb: Any) -> None:
    from functions.ingest_conversations.app import handler as ingest_conversations

    tenant = "summary-reader"
    table = os.environ["SUMMARIES_TABLE"]
    for n, extra in enumerate(
        [
            {},  # every attribute but the keys missing
            {"n": {"N": "-3"}, "src": {"SS": ["sms"]}, "env": {"N": "1"}},
            {"cid": {"S": "kept"}, "n": {"S": "many"}, "first": {"S": "x"}, "last": {"S": "y"}},
        ]
    ):
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"{tenant}#bad-{n}"},
                "gpk": {"S": tenant},
                "gsk": {"S": f"2024-01-0{n + 1}T00:00:00.000Z#bad-{n}"},
                **extra,
            },
        )
    answer = invoke(ingest_conversations, api_event("GET", "/v1/conversations", tenant=tenant))
    assert answer.status == 200, answer.body
    listed = {c["conversationId"]: c for c in answer.body["data"]}
    assert set(listed) == {"bad-0", "bad-1", "kept"}
    assert listed["bad-0"]["recordCount"] == 0
    assert listed["bad-1"]["environment"] == ""
