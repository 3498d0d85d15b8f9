"""The one retry loop: every call to AWS (DynamoDB, SQS, S3) goes through `retry`, which
repeats a call its caller's rule calls transient, with full-jitter exponential backoff, until
the caller's deadline; then StorageUnavailable (a retryable 503 for an API, a failed item
Lambda redelivers for a stream or queue consumer)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from shared.errors import StorageUnavailable
from shared.logs import get_logger

_BASE_DELAY = 0.025
_MAX_DELAY = 1.0

log = get_logger("retry")


class Deadline:
    """A point in time after which storage gives up and the client is told to retry."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def sleep_before_retry(self, attempt: int) -> None:
        """Wait before retry number `attempt` (0-based): a random delay up to 25 ms doubled
        per attempt, capped at 1 s; StorageUnavailable if that would pass the deadline."""
        delay = random.uniform(0, min(_MAX_DELAY, _BASE_DELAY * 2**attempt))  # noqa: S311
        if time.monotonic() + delay >= self.at:
            raise StorageUnavailable()
        time.sleep(delay)


def retry[T](
    operation: Callable[[], T],
    deadline: Deadline,
    *,
    transient: Callable[[Exception], bool],
    fault: str,
) -> T:
    """`operation()`'s answer, calling it again after each exception `transient` accepts
    (logged as `fault`); any other exception is raised at once."""
    attempt = 0
    while True:
        try:
            return operation()
        except Exception as exc:
            if not transient(exc):
                raise
            log.warning(fault, extra={"error": type(exc).__name__})
        deadline.sleep_before_retry(attempt)
        attempt += 1
