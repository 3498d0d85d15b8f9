"""Delivery: POST one event to one endpoint, signed per Standard Webhooks, and decide what a
failure means — retry later (SQS visibility, exponential backoff with jitter) or, once the event
has been failing for the retry window (24 hours), park it in the dead-letter queue.

Every attempt re-checks the URL (SSRF) and connects to the very address the check approved,
with no redirects followed. A 2xx answer is delivered; any other status, a timeout, a refused
connection or a refused address is a failure.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from botocore.httpsession import get_cert_path
from pydantic import ValidationError
from standardwebhooks import Webhook as Signer

from shared import logs
from shared.dynamo import Deadline
from shared.logs import get_logger
from shared.settings import Settings
from shared.webhooks import urls
from shared.webhooks.models import Delivery, Webhook
from shared.webhooks.queue import MAX_VISIBILITY_SECONDS, WebhookQueue
from shared.webhooks.store import WebhookStore

USER_AGENT = "Parley-Webhooks/1.0"
_JITTER = (0.75, 1.25)  # each delay is its nominal value ±25%, so failing endpoints spread out
_MAX_PARALLEL = 10  # deliveries of one batch run side by side (one slow endpoint holds one)

log = get_logger("webhooks.delivery")


def retry_delay(
    attempt: int, settings: Settings, rand: Callable[[float, float], float] = random.uniform
) -> int:
    """Seconds before the attempt after failed attempt number `attempt` (1 = the first):
    base * 2^(attempt-1), capped, with jitter."""
    doubled: int = settings.webhook_retry_base_seconds << min(max(attempt - 1, 0), 30)
    nominal = min(settings.webhook_retry_max_delay_seconds, doubled)
    jittered = round(nominal * rand(*_JITTER))
    return max(1, min(MAX_VISIBILITY_SECONDS, jittered))


def sign(delivery: Delivery, secrets: list[str], moment: datetime) -> tuple[str, dict[str, str]]:
    """The body and the Standard Webhooks headers of one attempt (a fresh timestamp each time,
    as receivers refuse signatures older than a few minutes): one signature per secret,
    space-separated, so during a rotation a receiver holding either secret verifies it."""
    body = delivery.payload()
    signatures = [Signer(secret).sign(delivery.eventId, moment, body) for secret in secrets]
    return body, {
        "webhook-id": delivery.eventId,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    detail: str  # "HTTP 204", "HTTP 500", "timeout: …", "refused: …"


class Sender:
    """POSTs to an endpoint at the address its URL check approved (no second DNS lookup)."""

    def __init__(self, timeout_seconds: float, *, local_mode: bool) -> None:
        self._timeout = urllib3.Timeout(total=timeout_seconds)
        self._local_mode = local_mode

    def post(self, url: str, body: str, headers: dict[str, str]) -> Outcome:
        try:
            target = urls.parse(url, local_mode=self._local_mode)
            address = urls.resolve(target, local_mode=self._local_mode)
        except urls.UnsafeUrl as exc:
            return Outcome(False, f"refused: {exc}")
        host = f"[{address}]" if address.version == 6 else str(address)
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                host,
                target.port,
                timeout=self._timeout,
                retries=False,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=get_cert_path(True),
                server_hostname=target.host,  # SNI and certificate check: the URL's host
                assert_hostname=target.host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(
                host, target.port, timeout=self._timeout, retries=False, maxsize=1
            )
        default_port = 443 if target.scheme == "https" else 80
        host_header = f"[{target.host}]" if ":" in target.host else target.host
        if target.port != default_port:
            host_header += f":{target.port}"
        try:
            with pool:
                response = pool.urlopen(
                    "POST",
                    target.path,
                    body=body.encode(),
                    headers={**headers, "host": host_header},
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,  # the status is all we need: the body is never read
                )
                status = response.status
        except urllib3.exceptions.TimeoutError as exc:
            return Outcome(False, f"timeout: {type(exc).__name__}")
        except urllib3.exceptions.HTTPError as exc:
            return Outcome(False, f"connection failed: {type(exc).__name__}")
        return Outcome(200 <= status < 300, f"HTTP {status}")


class Deliverer:
    def __init__(
        self,
        store: WebhookStore,
        queue: WebhookQueue,
        sender: Sender,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._queue = queue
        self._sender = sender
        self._settings = settings
        self._clock = clock

    def handle(self, records: list[Mapping[str, Any]], deadline: Deadline) -> list[str]:
        """Deliver every message of an SQS batch; returns the message ids to retry (they were
        made visible again later, at their backoff delay)."""
        if not records:
            return []
        with ThreadPoolExecutor(min(_MAX_PARALLEL, len(records))) as pool:
            done = list(pool.map(lambda r: self._settle(r, deadline), records))
        return [str(r["messageId"]) for r, ok in zip(records, done, strict=True) if not ok]

    def _settle(self, record: Mapping[str, Any], deadline: Deadline) -> bool:
        """True when the message is finished with (delivered, dropped or parked)."""
        try:
            return self._attempt(record, deadline)
        except Exception:
            # Storage or queue unavailable: the message comes back after the queue's
            # visibility timeout and is tried again.
            log.exception("delivery attempt could not complete", extra=_ids(record))
            return False

    def _attempt(self, record: Mapping[str, Any], deadline: Deadline) -> bool:
        attributes = record.get("attributes") or {}
        attempt = int(attributes.get("ApproximateReceiveCount", "1"))
        body = str(record.get("body", ""))
        try:
            delivery = Delivery.model_validate_json(body)
        except ValidationError:
            self._queue.park(body, "not a delivery message", attempt, deadline)
            log.error("malformed delivery message parked", extra=_ids(record))
            return True
        webhook = self._store.get(delivery.tenant, delivery.webhookId, deadline, with_secrets=True)
        if webhook is None:
            log.info("endpoint was deleted; event dropped", extra=_ids(record, delivery))
            return True
        logs.tenant_id_var.set(delivery.tenant)
        outcome = self._post(webhook, delivery)
        details = _ids(record, delivery) | {"attempt": attempt, "outcome": outcome.detail}
        if outcome.delivered:
            log.info("delivered", extra=details)
            return True
        first_sent = int(attributes.get("SentTimestamp", "0")) / 1000 or time.time()
        failing_for = self._clock().timestamp() - first_sent
        if failing_for >= self._settings.webhook_retry_window_seconds:
            self._queue.park(body, outcome.detail, attempt, deadline)
            log.warning("retries exhausted; parked in the dead-letter queue", extra=details)
            return True
        delay = retry_delay(attempt, self._settings)
        self._queue.retry_later(str(record["receiptHandle"]), delay, deadline)
        log.warning("delivery failed; will retry", extra=details | {"retry_in_s": delay})
        return False

    def _post(self, webhook: Webhook, delivery: Delivery) -> Outcome:
        moment = self._clock()
        body, headers = sign(delivery, webhook.signing_secrets(moment), moment)
        return self._sender.post(webhook.url, body, headers)


def _ids(record: Mapping[str, Any], delivery: Delivery | None = None) -> dict[str, Any]:
    ids: dict[str, Any] = {"message_id": record.get("messageId")}
    if delivery is not None:
        ids |= {"webhook_id": delivery.webhookId, "event_id": delivery.eventId}
    return ids
