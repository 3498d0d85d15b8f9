"""Records written before the compressed form (shared/ingest/codec.py) stay readable and
identifiable: the old items keep `rec` as a JSON string, and the records list, paging and a
resend of the same id work across both forms in one conversation (the dual read, no
migration)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from functions.ingest.app import handler as ingest
from functions.records.app import handler as list_records
from shared.ingest import codec
from tests.support import Answer, api_event, invoke, records_event

pytestmark = pytest.mark.usefixtures("dynamodb")

CONVERSATION = "before-and-after"


def send(*events: dict[str, Any]) -> None:
    answer = invoke(ingest, api_event("POST", "/v1/ingest", body={"events": list(events)}))
    assert answer.status == 200, answer.body


def event(event_id: str, timestamp: str, message: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "conversation_id": CONVERSATION,
        "role": "user",
        "message": message,
        "timestamp": timestamp,
        "metadata": {"nested": {"score": 0.1, "big": 12345678901234567890}},
    }


def records(**query: str) -> Answer:
    answer = invoke(list_records, records_event(CONVERSATION, query=query))
    assert answer.status == 200, answer.body
    return answer


def stored_items(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.query(  # type: ignore[no-any-return]
        TableName=os.environ["RECORDS_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"acme#{CONVERSATION}"}},
    )["Items"]


def to_old_form(dynamodb: Any) -> None:
    """Rewrite every stored item as the version before compression wrote it: the same keys
    and attributes, `rec` the record's JSON as a string."""
    for item in stored_items(dynamodb):
        text = codec.record_text(item["rec"])
        assert text is not None
        dynamodb.put_item(TableName=os.environ["RECORDS_TABLE"], Item=item | {"rec": {"S": text}})


def test_old_and_new_records_read_back_in_order_and_resends_overwrite(dynamodb: Any) -> None:
    send(event("a", "2024-05-01T10:00:00Z", "first"), event("c", "2024-05-01T10:02:00Z", "third"))
    before = records().body["data"]
    to_old_form(dynamodb)
    assert all("S" in item["rec"] for item in stored_items(dynamodb))
    assert records().body["data"] == before  # the old form reads exactly as it was written

    send(event("b", "2024-05-01T10:01:00Z", "second"))  # written now: compressed
    forms = {item["sk"]["S"]: next(iter(item["rec"])) for item in stored_items(dynamodb)}
    assert sorted(forms.values()) == ["B", "S", "S"]
    data = records().body["data"]
    assert [r["message"] for r in data] == ["first", "second", "third"]
    assert data[0] == before[0]
    assert data[2] == before[1]
    assert data[0]["metadata"]["nested"]["big"] == 12345678901234567890

    # Paging one at a time crosses the two forms in order.
    seen, cursor = [], None
    while True:
        page = records(limit="1", **({"cursor": cursor} if cursor else {})).body
        seen += [r["message"] for r in page["data"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert seen == ["first", "second", "third"]

    # A resend of a record stored in the old form is the same record: it overwrites it
    # (now compressed), never a second copy.
    send(event("c", "2024-05-01T10:02:00Z", "third, edited"))
    items = stored_items(dynamodb)
    assert len(items) == 3
    assert [r["message"] for r in records().body["data"]] == ["first", "second", "third, edited"]
    assert sorted(next(iter(item["rec"])) for item in items) == ["B", "B", "S"]
