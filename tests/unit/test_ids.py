"""Deterministic record ids: resending the same request overwrites, never duplicates."""

from __future__ import annotations

import json
from typing import Any

from shared.ingest.pipeline import IngestPolicy, RequestInfo
from shared.ingest.policies import DIRECT, MULTI
from tests.unit.helpers import INFO, batch

CHAT = {"conversation_id": "c", "role": "user", "message": "hi"}
CHANNEL = {
    "messageType": "channel",
    "id": "m-1",
    "conversationId": "c",
    "message": "x",
    "role": "user",
}


def ids(
    *events: dict[str, Any], info: RequestInfo = INFO, policy: IngestPolicy = DIRECT
) -> list[str]:
    result = batch(policy, {"events": list(events)}, info)
    return [json.loads(p.item["rec"]["S"])["id"] for p in result.prepared]


def test_resend_gives_the_same_ids() -> None:
    resent = RequestInfo(INFO.tenant_id, "another-request", "2030-01-01T00:00:00.000Z")
    assert ids(CHAT, CHANNEL) == ids(CHAT, CHANNEL, info=resent)


def test_key_order_does_not_matter() -> None:
    assert ids(CHAT) == ids({"message": "hi", "role": "user", "conversation_id": "c"})


def test_same_content_at_another_index_is_another_record() -> None:
    first, second = ids(CHAT, CHAT)
    assert first != second


def test_client_timestamp_is_part_of_the_identity() -> None:
    assert ids({**CHAT, "timestamp": "2024-01-01T00:00:00Z"}) != ids(CHAT)


def test_another_tenant_gets_other_ids() -> None:
    other = RequestInfo("globex", INFO.request_id, INFO.received_at)
    assert set(ids(CHAT, CHANNEL)).isdisjoint(ids(CHAT, CHANNEL, info=other))


def test_events_with_id_derive_from_type_and_id_only() -> None:
    assert ids(CHANNEL) == ids({**CHANNEL, "message": "edited"})  # an edit overwrites
    assert ids(CHANNEL) == ids(CHANNEL, policy=MULTI)  # whichever endpoint received it


def test_same_id_with_another_type_is_another_record() -> None:
    email = {
        "messageType": "email",
        "id": "m-1",
        "conversationId": "c",
        "role": "user",
        "body": "b",
    }
    assert ids(CHANNEL) != ids(email)


def test_standard_event_with_id_uses_it() -> None:
    assert ids({**CHAT, "id": "x"}) == ids({**CHAT, "id": "x", "message": "changed"})


def test_order_keys_keep_send_order_for_equal_timestamps() -> None:
    events = [{**CHAT, "message": str(i)} for i in range(12)]
    order_keys = [p.item["ok"]["S"] for p in batch(DIRECT, {"events": events}).prepared]
    assert order_keys == sorted(order_keys)
    assert len(set(order_keys)) == 12
