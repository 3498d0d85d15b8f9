"""The fan-out: DynamoDB stream records of conversations (META items) → webhook events → one
delivery message per subscribed endpoint.

The conversations table's stream is the outbox: the API writes only the table, so an event can
never be lost between a table write and a queue write. What each record means:

  INSERT                                   conversation.created (+ conversation.completed when
                                           created with status `completed`)
  MODIFY, `version` moved (an append)      conversation.updated, `changedFields` from OLD vs NEW
  MODIFY, status became `completed`        conversation.completed
  MODIFY, insights slot filled             insights.ready
  REMOVE                                   nothing

Event ids derive from the conversation and the version the event is about, so a redelivered or
replayed record yields the same ids (receivers see duplicates with one `webhook-id`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared import logs
from shared.dynamo import Deadline
from shared.fields import format_timestamp
from shared.logs import get_logger
from shared.webhooks.models import Event, Webhook, event_id
from shared.webhooks.queue import WebhookQueue
from shared.webhooks.store import WebhookStore

Image = Mapping[str, Any]  # a stream image: attribute name → DynamoDB typed value

META = "META"
# Descriptive fields (the item's `doc`) a conversation event carries, when set.
_DOC_FIELDS = ("promptName", "agentId", "agentName", "systemPromptId", "userId", "sessionId")
# Item attribute → the API fields an append changes when it changes.
_CHANGED_FIELDS = {
    "message_count": ("messages", "content"),
    "status": ("status",),
    "metadata": ("metadata",),
    "updated_at": ("updatedAt",),
}

log = get_logger("webhooks.fanout")


def _str(image: Image, name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if value else None


def _int(image: Image, name: str) -> int:
    value = image.get(name)
    return int(value["N"]) if value else 0


def _json(image: Image, name: str) -> Any:
    raw = _str(image, name)
    return json.loads(raw) if raw is not None else None


@dataclass(frozen=True)
class Change:
    """One META stream record, decoded."""

    kind: str  # INSERT, MODIFY, REMOVE
    tenant: str
    conversation_id: str
    new: Image
    old: Image
    approximate_time: str


def decode(record: Mapping[str, Any]) -> Change | None:
    """The record as a conversation change; None for anything that is not a META item."""
    stream = record.get("dynamodb") or {}
    keys = stream.get("Keys") or {}
    pk, sk = _str(keys, "pk"), _str(keys, "sk")
    if sk != META or not pk or "#" not in pk:
        return None
    tenant, conversation_id = pk.split("#", 1)
    seconds = float(stream.get("ApproximateCreationDateTime") or datetime.now(UTC).timestamp())
    return Change(
        kind=str(record.get("eventName")),
        tenant=tenant,
        conversation_id=conversation_id,
        new=stream.get("NewImage") or {},
        old=stream.get("OldImage") or {},
        approximate_time=format_timestamp(datetime.fromtimestamp(seconds, UTC)),
    )


def conversation_data(change: Change) -> dict[str, Any]:
    image = change.new
    data: dict[str, Any] = {"conversationId": change.conversation_id}
    if prompt_id := _str(image, "prompt_id"):
        data["promptId"] = prompt_id
    doc = _json(image, "doc") or {}
    data |= {name: doc[name] for name in _DOC_FIELDS if doc.get(name) is not None}
    data |= {
        "status": _str(image, "status"),
        "messageCount": _int(image, "message_count"),
        "createdAt": _str(image, "created_at"),
        "updatedAt": _str(image, "updated_at"),
    }
    return data


def changed_fields(old: Image, new: Image) -> list[str]:
    """The API fields an append changed, from the item before and after it."""
    changed: set[str] = set()
    for attribute, fields in _CHANGED_FIELDS.items():
        if old.get(attribute) != new.get(attribute):
            changed.update(fields)
    old_doc, new_doc = _json(old, "doc") or {}, _json(new, "doc") or {}
    changed.update(k for k in old_doc.keys() | new_doc.keys() if old_doc.get(k) != new_doc.get(k))
    return sorted(changed)


def events_of(change: Change) -> list[Event]:
    """The webhook events one META change stands for (none for REMOVE)."""
    if change.kind not in ("INSERT", "MODIFY"):
        return []
    new, old = change.new, change.old
    tenant, conversation = change.tenant, change.conversation_id
    version = str(_int(new, "version"))
    updated_at = _str(new, "updated_at") or change.approximate_time

    def event(kind: str, timestamp: str, data: dict[str, Any], *id_parts: str) -> Event:
        return Event(tenant, event_id(tenant, conversation, kind, *id_parts), kind, timestamp, data)

    events: list[Event] = []
    if change.kind == "INSERT":
        events.append(event("conversation.created", updated_at, conversation_data(change)))
    elif old.get("version") != new.get("version"):
        data = conversation_data(change) | {
            "changedFields": changed_fields(old, new),
            "messagesAdded": _int(new, "message_count") - _int(old, "message_count"),
        }
        events.append(event("conversation.updated", updated_at, data, version))
    old_status = _str(old, "status") if change.kind == "MODIFY" else None
    if _str(new, "status") == "completed" and old_status != "completed":
        data = conversation_data(change)
        if old_status is not None:
            data["previousStatus"] = old_status
        events.append(event("conversation.completed", updated_at, data, version))
    if "insights" in new and "insights" not in old:
        insights = _json(new, "insights")
        data = conversation_data(change) | {"insights": insights}
        created = insights.get("createdAt") if isinstance(insights, dict) else None
        events.append(event("insights.ready", created or change.approximate_time, data))
    return events


class FanOut:
    def __init__(self, store: WebhookStore, queue: WebhookQueue) -> None:
        self._store = store
        self._queue = queue

    def handle(self, records: list[Mapping[str, Any]], deadline: Deadline) -> list[str]:
        """Enqueue the deliveries of every record, in order. Returns the sequence number of the
        first record that failed (Lambda retries from there) or an empty list."""
        endpoints: dict[str, list[Webhook]] = {}  # per tenant, read once per batch
        for record in records:
            sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            try:
                change = decode(record)
                events = events_of(change) if change is not None else []
                if not events:
                    continue
                assert change is not None
                logs.tenant_id_var.set(change.tenant)
                if change.tenant not in endpoints:
                    endpoints[change.tenant] = self._store.list(change.tenant, deadline)
                deliveries = [
                    event.for_webhook(webhook.id)
                    for event in events
                    for webhook in endpoints[change.tenant]
                    if event.type in webhook.events
                ]
                if deliveries:
                    self._queue.enqueue(deliveries, deadline)
                log.info(
                    "fanned out",
                    extra={
                        "conversation_id": change.conversation_id,
                        "events": [e.type for e in events],
                        "deliveries": len(deliveries),
                    },
                )
            except Exception:
                log.exception("fan-out failed; the record will be retried")
                return [sequence]
        return []
