"""The read path never fails on stored data: an item that cannot be decoded is answered as
what it holds, flagged, never as a 500 (tests write such items straight into the table)."""

from __future__ import annotations

from typing import Any

from shared.conversations.models import UNDECODABLE
from shared.conversations.store.items import conversation_key, message_key
from shared.settings import get_settings
from tests.integration.conversations import (
    append,
    created_id,
    fresh_tenant,
    get,
    insights,
    run_insights,
)

SEED = {"promptId": "p_1", "content": "User: hi\nAssistant: hello", "status": "in_progress"}


def overwrite(dynamodb: Any, tenant: str, conversation_id: str, sk: str, **values: str) -> None:
    names = {f"#{name}": name for name in values}
    dynamodb.update_item(
        TableName=get_settings().conversations_table,
        Key={"pk": {"S": conversation_key(tenant, conversation_id)}, "sk": {"S": sk}},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{name}": {"S": value} for name, value in values.items()},
    )


def test_a_message_item_that_does_not_decode_is_returned_flagged(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = created_id(SEED, tenant)
    assert (
        append(conversation_id, {"messages": [{"role": "user", "content": "more"}]}, tenant).status
        == 200
    )
    broken = '[{"role": "user", "content": "hi"}, {"role": "assis'
    overwrite(dynamodb, tenant, conversation_id, message_key(0), msgs=broken)

    answer = get(conversation_id, tenant)
    assert answer.status == 200, answer.body
    first, appended = answer.body["messages"]
    assert first == {"role": "system", "content": broken, UNDECODABLE: True}
    assert appended == {"role": "user", "content": "more"}  # the other items read as ever
    # Still appendable: the stored items are never rewritten.
    later = append(conversation_id, {"messages": [{"role": "user", "content": "again"}]}, tenant)
    assert later.status == 200, later.body
    assert [m["content"] for m in later.body["messages"]][1:] == ["more", "again"]


def test_messages_that_decode_to_something_else_are_flagged_too(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = created_id(SEED, tenant)
    for stored in ('{"role": "user"}', '[{"role": "robot", "content": "x"}]', "[1, 2]"):
        overwrite(dynamodb, tenant, conversation_id, message_key(0), msgs=stored)
        answer = get(conversation_id, tenant)
        assert answer.status == 200, answer.body
        assert answer.body["messages"] == [{"role": "system", "content": stored, UNDECODABLE: True}]


def test_summary_fields_that_do_not_decode_are_returned_flagged(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = created_id({**SEED, "promptName": "Support"}, tenant)
    overwrite(
        dynamodb, tenant, conversation_id, "META", metadata="{oops", doc="[]", insights="nope"
    )
    answer = get(conversation_id, tenant)
    assert answer.status == 200, answer.body
    assert answer.body["metadata"] == {UNDECODABLE: "{oops"}
    assert answer.body["insights"] is None
    assert insights(conversation_id, tenant).status == 404  # answered as a failed analysis
    assert run_insights(conversation_id, tenant).body["data"]["status"] == "failed"


def test_a_request_cannot_set_the_flag(dynamodb: Any) -> None:
    tenant = fresh_tenant()
    conversation_id = created_id(SEED, tenant)
    flagged = {"role": "user", "content": "x", UNDECODABLE: True}
    refused = append(conversation_id, {"messages": [flagged]}, tenant)
    assert refused.status == 400, refused.body
    assert "messages[0]" in refused.body["error"]["details"]
