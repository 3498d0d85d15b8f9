"""The delivery queue (SQS): what the fan-out and the /test route enqueue, and what the delivery
function does with a message that failed — make it visible again later, or park it in the DLQ.

SQS faults (throttling, 5xx, connection errors) are retried by shared.retry's loop until the
caller's deadline, then raise StorageUnavailable: the API answers a retryable 503, the stream
and queue consumers report the item as failed so Lambda retries it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from shared.dynamo import is_transient
from shared.retry import Deadline, retry
from shared.settings import get_settings
from shared.webhooks.models import Delivery

SEND_BATCH = 10  # SendMessageBatch's maximum
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's maximum visibility timeout
_THROTTLED = frozenset({"RequestThrottled", "ThrottlingException", "KmsThrottled"})


def sqs_client() -> Any:
    settings = get_settings()
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5)
    return botocore.session.get_session().create_client(
        "sqs", region_name=settings.aws_region, endpoint_url=settings.sqs_endpoint, config=config
    )


def is_transient_queue_fault(exc: Exception) -> bool:
    """SQS's rule: its own throttling codes, and whatever is transient for any AWS call."""
    if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _THROTTLED:
        return True
    return is_transient(exc)


def _call[T](operation: Callable[[], T], deadline: Deadline) -> T:
    return retry(
        operation, deadline, transient=is_transient_queue_fault, fault="transient queue fault"
    )


class WebhookQueue:
    def __init__(self, client: Any, queue_url: str, dlq_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._dlq_url = dlq_url

    def enqueue(self, deliveries: Sequence[Delivery], deadline: Deadline) -> None:
        """Send every delivery (all, or StorageUnavailable: a resend repeats some, with the same
        event ids, which receivers see as duplicates)."""
        for start in range(0, len(deliveries), SEND_BATCH):
            pending = {
                str(i): d.model_dump_json()
                for i, d in enumerate(deliveries[start : start + SEND_BATCH])
            }
            attempt = 0
            while pending:
                entries = [{"Id": key, "MessageBody": body} for key, body in pending.items()]
                response = _call(
                    lambda: self._client.send_message_batch(
                        QueueUrl=self._queue_url,
                        Entries=entries,  # noqa: B023
                    ),
                    deadline,
                )
                failed = response.get("Failed") or []
                permanent = [f for f in failed if f.get("SenderFault")]
                if permanent:
                    raise RuntimeError(f"SQS refused a delivery message: {permanent[0]}")
                pending = {f["Id"]: pending[f["Id"]] for f in failed}
                if pending:
                    deadline.sleep_before_retry(attempt)
                    attempt += 1

    def retry_later(self, receipt_handle: str, delay_seconds: int, deadline: Deadline) -> None:
        """Hide a received message for `delay_seconds`: its next attempt comes after that."""
        timeout = max(0, min(delay_seconds, MAX_VISIBILITY_SECONDS))
        _call(
            lambda: self._client.change_message_visibility(
                QueueUrl=self._queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
            ),
            deadline,
        )

    def park(self, body: str, reason: str, attempts: int, deadline: Deadline) -> None:
        """Move a message that exhausted its retries to the dead-letter queue, with why."""
        attributes = {
            "failure": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
            "attempts": {"DataType": "Number", "StringValue": str(attempts)},
        }
        _call(
            lambda: self._client.send_message(
                QueueUrl=self._dlq_url, MessageBody=body, MessageAttributes=attributes
            ),
            deadline,
        )
