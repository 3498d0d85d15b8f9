"""The id rule end to end (docs/guarantees.md): separate sends are never merged; retries the
rule can recognise are stored once. Real handlers under moto."""

from __future__ import annotations

import itertools
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.ingest_vogent_raw.app import handler as ingest_vogent_raw
from tests.integration.test_ingest_http import chat, post, stored

pytestmark = pytest.mark.usefixtures("dynamodb")

VOGENT: dict[str, Any] = {"handler": ingest_vogent_raw, "path": "/v1/ingest/vogent-raw"}


def test_a_repeated_turn_sent_one_request_each_is_kept(conversation_id: str) -> None:
    """Issue 6: "yes", "Shall I book it?", "yes" without id or timestamp, one request each."""
    for role, message in (("user", "yes"), ("assistant", "Shall I book it?"), ("user", "yes")):
        answer = post({"events": [chat(conversation_id, message, role=role)]})
        assert answer.status == 200
        assert answer.body["count"] == 1
    assert [(r["role"], r["message"]) for r in stored(conversation_id)] == [
        ("user", "yes"),
        ("assistant", "Shall I book it?"),
        ("user", "yes"),
    ]


def forget_idempotency_key(dynamodb: Any, key: str, tenant: str = "acme") -> None:
    """As if the request wrote its records and then failed (503, timeout) before its answer
    was remembered: the retry under the same key runs again."""
    dynamodb.delete_item(
        TableName=os.environ["IDEMPOTENCY_TABLE"],
        Key={"pk": {"S": f"{tenant}#/v1/ingest#{key}"}},
    )


def test_retry_under_the_same_key_after_a_failure_overwrites(
    conversation_id: str, dynamodb: Any
) -> None:
    body = {"events": [chat(conversation_id, "yes"), chat(conversation_id, "yes")]}
    key = f"key-{conversation_id}"
    assert post(body, headers={"Idempotency-Key": key}).status == 200
    forget_idempotency_key(dynamodb, key)
    retry = post(body, headers={"Idempotency-Key": key})
    assert retry.status == 200
    recs = stored(conversation_id)
    assert [r["message"] for r in recs] == ["yes", "yes"]
    assert {r["request_id"] for r in recs} == {retry.body["requestId"]}


def test_blind_retry_without_key_or_timestamp_may_duplicate(conversation_id: str) -> None:
    """The documented at-least-once case: Parley cannot tell a blind resend from a new turn."""
    body = {"events": [chat(conversation_id, "yes")]}
    assert post(body).status == 200
    assert post(body).status == 200
    assert [r["message"] for r in stored(conversation_id)] == ["yes", "yes"]


def test_timestamped_turns_are_told_apart_by_their_milliseconds(conversation_id: str) -> None:
    for timestamp in ("2024-01-15T10:30:00.100Z", "2024-01-15T10:30:00.900Z"):
        assert post({"events": [chat(conversation_id, "yes", timestamp=timestamp)]}).status == 200
    assert len(stored(conversation_id)) == 2
    # The documented limit: same content, same millisecond, same position looks like a resend.
    again = {"events": [chat(conversation_id, "yes", timestamp="2024-01-15T10:30:00.900Z")]}
    assert post(again).status == 200
    assert len(stored(conversation_id)) == 2


def channel(conversation_id: str, message: str, message_id: str = "msg-1") -> dict[str, Any]:
    return {
        "messageType": "channel",
        "id": message_id,
        "conversationId": conversation_id,
        "role": "user",
        "message": message,
    }


def vogent_call(conversation_id: str, *texts: str) -> dict[str, Any]:
    transcript = [{"text": text, "speaker": "HUMAN"} for text in texts]
    return {"id": "call-1", "conversationId": conversation_id, "transcript": transcript}


def test_an_id_reused_in_another_conversation_is_another_record(conversation_id: str) -> None:
    other = f"{conversation_id}-other"
    for conversation in (conversation_id, other):
        assert post({"events": [channel(conversation, conversation)]}).status == 200
        answer = post({"events": [vogent_call(conversation, "hi")]}, **VOGENT)
        assert answer.status == 200
    for conversation in (conversation_id, other):
        assert [r["message"] for r in stored(conversation)] == [conversation, "hi"]


def test_an_id_sent_again_in_its_conversation_is_an_edit(conversation_id: str) -> None:
    for text in ("first", "edited"):
        assert post({"events": [channel(conversation_id, text)]}).status == 200
        assert post({"events": [vogent_call(conversation_id, text, "bye")]}, **VOGENT).status == 200
    assert [r["message"] for r in stored(conversation_id)] == ["edited", "edited", "bye"]


# --- Property: random sequences of sends and retries --------------------------------------


@dataclass(frozen=True)
class EventSpec:
    message: str
    with_id: bool
    with_timestamp: bool


@dataclass(frozen=True)
class SendSpec:
    events: tuple[EventSpec, ...]
    with_key: bool


@dataclass(frozen=True)
class RetrySpec:
    of: int  # which earlier send (modulo the number so far)
    first_attempt_failed: bool  # its answer was never remembered (e.g. a 503 after writing)


event_specs = st.builds(
    EventSpec,
    st.sampled_from(["yes", "ok", "thanks", "Shall I book it?"]),
    st.booleans(),
    st.booleans(),
)
operations = st.lists(
    st.one_of(
        st.builds(
            SendSpec, st.lists(event_specs, min_size=1, max_size=3).map(tuple), st.booleans()
        ),
        st.builds(RetrySpec, st.integers(0, 10), st.booleans()),
    ),
    min_size=1,
    max_size=6,
)


@dataclass
class Model:
    """What docs/guarantees.md's rule says the conversation holds: identity -> (order, message)."""

    records: dict[Any, tuple[tuple[Any, ...], str]] = field(default_factory=dict)

    def write(self, identity: Any, order: tuple[Any, ...], message: str) -> None:
        self.records[identity] = (order, message)

    def messages(self) -> list[str]:
        return [message for _, message in sorted(self.records.values())]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations)
def test_every_send_is_stored_and_every_covered_retry_once(
    dynamodb: Any, ops: list[SendSpec | RetrySpec]
) -> None:
    conversation = f"conv-{uuid.uuid4().hex[:12]}"
    unique = itertools.count()
    sent: list[tuple[dict[str, Any], str | None]] = []  # (body, Idempotency-Key)
    model = Model()
    for request_no, op in enumerate(ops):
        if isinstance(op, SendSpec):
            events = []
            for spec in op.events:
                event = chat(conversation, spec.message)
                # Every fresh event is a new turn: its id and timestamp are its own.
                n = next(unique)
                if spec.with_id:
                    event["id"] = f"turn-{n}"
                if spec.with_timestamp:
                    event["timestamp"] = f"2024-01-15T10:30:00.{n:03d}Z"
                events.append(event)
            key = f"key-{uuid.uuid4().hex}" if op.with_key else None
            body = {"events": events}
            sent.append((body, key))
            replayed = False
        else:
            if not sent:
                continue
            body, key = sent[op.of % len(sent)]
            if key is not None and op.first_attempt_failed:
                forget_idempotency_key(dynamodb, key)
            # A key whose first answer was remembered replays it without writing.
            replayed = key is not None and not op.first_attempt_failed
        answer = post(body, headers={"Idempotency-Key": key} if key else None)
        assert answer.status == 200, answer.body
        if replayed:
            continue
        for position, event in enumerate(body["events"]):
            if "id" in event:
                identity: Any = ("id", event["id"])
            elif "timestamp" in event:
                identity = ("timestamp", position, event["timestamp"])
            elif key is not None:
                identity = ("key", key, position)
            else:  # a send of its own: a new record every time
                identity = ("request", request_no, position)
            # Read back by timestamp, then receive order, then position in the request;
            # an event without a timestamp is stamped with its (later) receive time.
            timestamp = event.get("timestamp", "9999")
            model.write(identity, (timestamp, request_no, position), event["message"])
    assert [r["message"] for r in stored(conversation, limit="1000")] == model.messages()
