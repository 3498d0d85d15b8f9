"""The webhooks API's operations: register, list, delete, and send a test event."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

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


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        queue: WebhookQueue,
        *,
        local_mode: bool,
        max_per_tenant: int,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._queue = queue
        self._local_mode = local_mode
        self._max = max_per_tenant
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
