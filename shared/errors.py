"""Domain errors. Each carries what the HTTP layer needs; shared.http maps them to responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EventError:
    """One invalid event: its 0-based index, the field at fault, and what is wrong."""

    index: int
    field: str | None
    message: str
    too_large: bool = False  # a size limit, answered with 413 rather than 400

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class ApiError(Exception):
    status: int = 500
    retryable: bool = False
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        *,
        errors: list[EventError] | None = None,
        details: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        # Field → problem, for the conversations API's envelope (`error.details`).
        self.details = details


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str = "Invalid or missing API key") -> None:
        super().__init__(message)


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class InProgress(Conflict):
    """The first request under this Idempotency-Key is still being processed: retry shortly."""

    retryable = True
    retry_after = 1

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still in progress; retry shortly")


class PayloadTooLarge(ApiError):
    status = 413


class UnprocessableContent(ApiError):
    status = 422


class StorageUnavailable(ApiError):
    """Storage stayed throttled or unreachable past the retry deadline: the client retries."""

    status = 503
    retryable = True
    retry_after = 2

    def __init__(self, message: str = "Storage is temporarily unavailable; retry later") -> None:
        super().__init__(message)


class Contended(StorageUnavailable):
    """Too many concurrent writers kept winning the race for one item: the client retries."""

    retry_after = 1

    def __init__(self) -> None:
        super().__init__("Too many concurrent updates to this conversation; retry shortly")


MAX_LISTED_ERRORS = 100


class InvalidEvents(ApiError):
    """One or more events failed validation: 413 if any broke a size limit, else 400."""

    def __init__(self, errors: list[EventError]) -> None:
        too_large = [e for e in errors if e.too_large]
        first = (too_large or errors)[0]
        super().__init__(f"Event {first.index}: {first.message}", errors=errors[:MAX_LISTED_ERRORS])
        self.status = 413 if too_large else 400


class UnsupportedMediaType(ApiError):
    status = 415


class QuotaExceeded(ApiError):
    """The tenant's daily quota of events or bytes is used up (shared/quotas.py): 429, retry
    after the next UTC midnight; `quota` is shown in the error body."""

    status = 429
    retryable = True

    def __init__(self, message: str, *, retry_after: int, quota: dict[str, int]) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.quota = quota
