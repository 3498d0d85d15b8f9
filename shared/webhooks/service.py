"""The webhooks API's operations: register, list, delete, and send a test event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.dynamo import Deadline
from shared.errors import BadRequest, Conflict, NotFound
from shared.fields import format_timestamp
from shared.webhooks import urls
from shared.webhooks.models import (
    TEST_EVENT,
    CreateWebhook,
    Event,
    Webhook,
    event_id,
    is_webhook_id,
    new_secret,
    new_webhook_id,
)
from shared.webhooks.queue import WebhookQueue
from shared.webhooks.store import WebhookStore

Clock = Callable[[], datetime]


def not_found() -> NotFound:
    # The same answer whether it does not exist or belongs to another tenant.
    return NotFound("Webhook not found")


def check_webhook_id(webhook_id: str) -> str:
    if not is_webhook_id(webhook_id):
        problem = "Must be a webhook id: wh_ followed by 26 characters"
        raise BadRequest("Invalid webhook id", details={"id": problem})
    return webhook_id


@dataclass(frozen=True)
class Rotated:
    webhook_id: str
    secret: str  # shown once, in the answer
    previous_secret_until: str

    def view(self) -> dict[str, str]:
        return {
            "id": self.webhook_id,
            "secret": self.secret,
            "previousSecretExpiresAt": self.previous_secret_until,
        }


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        queue: WebhookQueue,
        *,
        local_mode: bool,
        max_per_tenant: int,
        rotation_overlap_seconds: int = 24 * 3600,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._queue = queue
        self._local_mode = local_mode
        self._max = max_per_tenant
        self._overlap = timedelta(seconds=rotation_overlap_seconds)
        self._clock = clock

    def create(self, tenant: str, request: CreateWebhook, deadline: Deadline) -> Webhook:
        try:
            urls.check_url(request.url, local_mode=self._local_mode)
        except urls.UnsafeUrl as exc:
            raise BadRequest("Invalid webhook URL", details={"url": str(exc)}) from None
        if len(self._store.list(tenant, deadline)) >= self._max:
            raise Conflict(
                f"This account already has {self._max} webhooks, the most it may have; delete "
                "one first",
                details={"url": f"At most {self._max} webhooks per account"},
            )
        now = self._clock()
        webhook = Webhook(
            id=new_webhook_id(now),
            url=request.url,
            events=list(request.events),
            description=request.description,
            created_at=format_timestamp(now),
            secret=new_secret(),
        )
        self._store.put(tenant, webhook, deadline)
        return webhook

    def list(self, tenant: str, deadline: Deadline) -> list[Webhook]:
        return self._store.list(tenant, deadline)

    def delete(self, tenant: str, webhook_id: str, deadline: Deadline) -> None:
        check_webhook_id(webhook_id)
        if not self._store.delete(tenant, webhook_id, deadline):
            raise not_found()

    def rotate_secret(self, tenant: str, webhook_id: str, deadline: Deadline) -> Rotated:
        """A new signing secret; the replaced one keeps signing deliveries (beside the new
        one) for the overlap window, so receivers can switch without missing an event."""
        check_webhook_id(webhook_id)
        secret = new_secret()
        until = format_timestamp(self._clock() + self._overlap)
        if not self._store.rotate(tenant, webhook_id, secret, until, deadline):
            raise not_found()
        return Rotated(webhook_id, secret, until)

    def send_test(self, tenant: str, webhook_id: str, deadline: Deadline) -> Event:
        """Queue a `webhook.test` event for this endpoint: it takes the path every event takes
        (queue, delivery function, signature, retries)."""
        check_webhook_id(webhook_id)
        webhook = self._store.get(tenant, webhook_id, deadline)
        if webhook is None:
            raise not_found()
        now = format_timestamp(self._clock())
        event = Event(
            tenant=tenant,
            id=event_id(tenant, webhook_id, TEST_EVENT, now),
            type=TEST_EVENT,
            timestamp=now,
            data={"webhookId": webhook_id, "message": "Test event from Parley"},
        )
        self._queue.enqueue([event.for_webhook(webhook_id)], deadline)
        return event
