"""Record ids: a resend the rule can recognise overwrites; a separate send never merges."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from shared.ingest.codec import record_text
from shared.ingest.policies import DIRECT, MULTI
from shared.ingest.service import IngestPolicy, RequestInfo
from tests.unit.helpers import INFO, batch

CHAT = {"conversation_id": "c", "role": "user", "message": "hi"}
TIMED = {**CHAT, "timestamp": "2024-01-01T00:00:00.123Z"}
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
    return [json.loads(record_text(p.item["rec"]) or "")["id"] for p in result.prepared]


# The same request sent again: another request id, received later.
RESENT = replace(INFO, request_id="another-request", received_at="2030-01-01T00:00:00.000Z")


def test_resend_of_events_with_ids_or_timestamps_gives_the_same_ids() -> None:
    assert ids(TIMED, CHANNEL) == ids(TIMED, CHANNEL, info=RESENT)


def test_untimed_event_sent_again_without_a_key_is_a_new_record() -> None:
    """The same words in two requests are two turns (a user saying "yes" twice)."""
    assert ids(CHAT) != ids(CHAT, info=RESENT)


def test_untimed_event_retried_under_the_same_idempotency_key_overwrites() -> None:
    first = replace(INFO, idempotency_key="k-1")
    retry = replace(RESENT, idempotency_key="k-1")
    assert ids(CHAT, CHAT, info=first) == ids(CHAT, CHAT, info=retry)
    assert ids(CHAT) != ids(CHAT, info=replace(first, idempotency_key="k-2"))


def test_a_reused_idempotency_key_never_overwrites_other_content() -> None:
    keyed = replace(INFO, idempotency_key="k-1")
    assert ids(CHAT, info=keyed) != ids({**CHAT, "message": "other"}, info=keyed)


def test_key_order_does_not_matter() -> None:
    reordered = {"timestamp": TIMED["timestamp"], "message": "hi", "role": "user"}
    assert ids(TIMED) == ids({**reordered, "conversation_id": "c"})
    keyed = replace(INFO, idempotency_key="k")
    assert ids(CHAT, info=keyed) == ids(
        {"message": "hi", "role": "user", "conversation_id": "c"}, info=keyed
    )


def test_same_content_at_another_index_is_another_record() -> None:
    for event in (CHAT, TIMED):
        first, second = ids(event, event)
        assert first != second


def test_client_timestamp_is_part_of_the_identity() -> None:
    assert ids(TIMED) != ids({**TIMED, "timestamp": "2024-01-01T00:00:00.124Z"})


def test_another_tenant_gets_other_ids() -> None:
    other = replace(INFO, tenant_id="globex")
    assert set(ids(CHAT, TIMED, CHANNEL)).isdisjoint(ids(CHAT, TIMED, CHANNEL, info=other))


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


def order_keys(info: RequestInfo, *events: dict[str, Any]) -> list[str]:
    return [p.item["ok"]["S"] for p in batch(DIRECT, {"events": list(events)}, info).prepared]


def test_order_keys_keep_send_order_for_equal_timestamps() -> None:
    keys = order_keys(INFO, *({**CHAT, "message": str(i)} for i in range(12)))
    assert keys == sorted(keys)
    assert len(set(keys)) == 12


def test_order_keys_keep_send_order_across_requests_in_one_millisecond() -> None:
    later = replace(INFO, request_id="r2", received_ns=INFO.received_ns + 1)
    first, second = order_keys(INFO, CHAT, CHAT), order_keys(later, CHAT)
    assert first + second == sorted(first + second)
