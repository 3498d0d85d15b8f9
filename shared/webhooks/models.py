"""Webhook endpoints, the events they subscribe to, and the message one delivery carries."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.conversations.ids import PREFIX as CONVERSATION_PREFIX
from shared.conversations.ids import is_conversation_id, new_conversation_id

EventType = Literal[
    "conversation.created",
    "conversation.updated",
    "conversation.completed",
    "insights.ready",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
TEST_EVENT = "webhook.test"  # sent only by POST /api/v1/webhooks/{id}/test, to that endpoint
WEBHOOK_PREFIX = "wh_"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32  # Standard Webhooks: 24 to 64 random bytes, base64 after `whsec_`
MAX_DESCRIPTION_CHARS = 500


def new_webhook_id(now: datetime) -> str:
    """`wh_` + a ULID, so a tenant's endpoints list in creation order."""
    return WEBHOOK_PREFIX + new_conversation_id(now).removeprefix(CONVERSATION_PREFIX)


def is_webhook_id(value: str) -> bool:
    return value.startswith(WEBHOOK_PREFIX) and is_conversation_id(
        CONVERSATION_PREFIX + value.removeprefix(WEBHOOK_PREFIX)
    )


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def event_id(*parts: str) -> str:
    """A delivery id derived from what the event is about, so a redelivered or replayed stream
    record yields the same `webhook-id` and receivers can drop the duplicate."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"msg_{digest[:32]}"


class CreateWebhook(BaseModel):
    """POST /api/v1/webhooks."""

    model_config = ConfigDict(strict=True, extra="forbid")

    url: str = Field(min_length=1)
    events: list[EventType] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_CHARS)

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(value))  # a repeated name subscribes once


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: str
    # Never listed; shown once, when created or rotated. None when read without its secrets
    # (lists, the test event): only delivery opens them (shared/webhooks/crypto.py).
    secret: str | None
    # After a rotation the replaced secret also signs every delivery until this moment (24 h).
    previous_secret: str | None = None
    previous_secret_until: str | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets a delivery at `now` is signed with: the current one, and the replaced
        one while its rotation window is open (Standard Webhooks allows several signatures)."""
        if self.secret is None:
            raise ValueError(f"webhook {self.id} was read without its secrets")
        signing = [self.secret]
        until = self.previous_secret_until
        if (
            self.previous_secret is not None
            and until is not None
            and now < datetime.fromisoformat(until)
        ):
            signing.append(self.previous_secret)
        return signing

    def view(self, *, with_secret: bool = False) -> dict[str, Any]:
        shown: dict[str, Any] = {"id": self.id, "url": self.url, "events": self.events}
        if self.description is not None:
            shown["description"] = self.description
        if with_secret:
            shown["secret"] = self.secret
        shown["createdAt"] = self.created_at
        return shown


class Delivery(BaseModel):
    """One event for one endpoint: the body of a delivery queue message."""

    model_config = ConfigDict(extra="forbid")

    tenant: str
    webhookId: str
    eventId: str
    type: str
    timestamp: str  # when the event happened (the payload's `timestamp`)
    data: dict[str, Any]

    def payload(self) -> str:
        """The body POSTed and signed: `{"type", "timestamp", "data"}`, compact JSON."""
        body = {"type": self.type, "timestamp": self.timestamp, "data": self.data}
        return pydantic_core.to_json(body).decode()


@dataclass(frozen=True)
class Event:
    """A webhook event for every endpoint of `tenant` that subscribes to `type`."""

    tenant: str
    id: str
    type: str
    timestamp: str
    data: dict[str, Any]

    def for_webhook(self, webhook_id: str) -> Delivery:
        return Delivery(
            tenant=self.tenant,
            webhookId=webhook_id,
            eventId=self.id,
            type=self.type,
            timestamp=self.timestamp,
            data=self.data,
        )
