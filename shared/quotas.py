"""Per-tenant daily quotas on events and bytes (docs/security.md "Quotas").

Every write that stores events (ingest, OTLP traces, conversations and runs) is charged to its
tenant's UTC day: its events (messages, spans) and its body's bytes. The count lives in the
usage table (pk = tenant#day, one atomic `ADD` per update) but is kept off the hot path: each
process counts its own requests and writes them, with one UpdateItem that also returns every
process's total, at most every `usage_flush_seconds` per tenant. Between two updates a process
decides from the last total plus what it has counted since, so a tenant may pass its quota by
what other processes accepted within one flush interval; within a process the check is exact
(a request is reserved before it is stored and released if it fails).

Fail-open on purpose: when the usage table cannot be reached the request is not refused (a
quota guards cost; refusing would turn a usage-table fault into lost data for every tenant).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.dynamo import Deadline, DynamoDBClient, call_with_retry
from shared.errors import QuotaExceeded
from shared.logs import get_logger
from shared.settings import Quota, Settings

log = get_logger("quotas")

_DAY_SECONDS = 86_400
# Usage items outlive their day by a week: what a tenant used stays readable for support.
_KEEP_SECONDS = 8 * _DAY_SECONDS
# One usage update may take at most this long on the request's path before it is skipped.
_FLUSH_SECONDS = 1.0


def quota_for(settings: Settings, tenant_id: str, plan: str | None) -> Quota | None:
    """The tenant's own quota if it has one, else its plan's; None: no quota (a key without a
    plan, when no `default` quota is configured)."""
    override = settings.tenant_quotas.get(tenant_id)
    if override is not None:
        return override
    return settings.plan_quotas.get(plan or "default")


@dataclass
class _Day:
    """One tenant's usage of one UTC day as this process knows it."""

    day: str
    total_events: int = 0  # every process's total at the last update
    total_bytes: int = 0
    pending_events: int = 0  # reserved here since, not yet written
    pending_bytes: int = 0
    updated_at: float | None = None  # monotonic time of the last update; None: never read
    updating: bool = False


@dataclass(frozen=True)
class Charge:
    tenant_id: str
    day: str
    events: int
    size: int


class UsageCounter:
    def __init__(
        self,
        client: DynamoDBClient,
        settings: Settings,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._settings = settings
        self._table = settings.usage_table
        self._flush_seconds = settings.usage_flush_seconds
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._days: dict[str, _Day] = {}

    @contextmanager
    def charge(self, tenant_id: str, plan: str | None, events: int, size: int) -> Iterator[None]:
        """Reserves `events` and `size` bytes of the tenant's day, or raises QuotaExceeded;
        the body runs the write, and a write that fails gives the reservation back."""
        quota = quota_for(self._settings, tenant_id, plan)
        if quota is None:
            yield
            return
        charge = self._reserve(tenant_id, quota, events, size)
        try:
            yield
        except BaseException:
            self._release(charge)
            raise
        self._update_if_due(tenant_id)

    def _reserve(self, tenant_id: str, quota: Quota, events: int, size: int) -> Charge:
        now = self._now()
        day = now.strftime("%Y-%m-%d")
        with self._lock:
            state, leftover = self._state(tenant_id, day)
            unknown = state.updated_at is None
        if leftover is not None:  # what was pending for the day that ended is written to it
            self._write(tenant_id, *leftover)
        if unknown:
            self._update(tenant_id)  # a tenant's first request here: learn the day's total
        with self._lock:
            state, _ = self._state(tenant_id, day)
            used_events = state.total_events + state.pending_events
            used_bytes = state.total_bytes + state.pending_bytes
            if used_events + events > quota.events_per_day:
                raise _refused(quota, "events", quota.events_per_day, used_events, now)
            if used_bytes + size > quota.bytes_per_day:
                raise _refused(quota, "bytes", quota.bytes_per_day, used_bytes, now)
            state.pending_events += events
            state.pending_bytes += size
        return Charge(tenant_id, day, events, size)

    def _release(self, charge: Charge) -> None:
        with self._lock:
            state = self._days.get(charge.tenant_id)
            if state is not None and state.day == charge.day:
                state.pending_events -= charge.events
                state.pending_bytes -= charge.size

    def _state(self, tenant_id: str, day: str) -> tuple[_Day, tuple[str, int, int] | None]:
        """The tenant's state for `day` (under the lock); a new day starts from zero, and what
        was still pending for the day before is handed back to be written to it."""
        state = self._days.get(tenant_id)
        leftover = None
        if state is None or state.day != day:
            if state is not None and (state.pending_events or state.pending_bytes):
                leftover = (state.day, state.pending_events, state.pending_bytes)
            state = self._days[tenant_id] = _Day(day)
        return state, leftover

    def _update_if_due(self, tenant_id: str) -> None:
        """Updates when the interval has passed; again while what others reserved during the
        update is still pending and due (an interval of 0 writes every count at once)."""
        while True:
            with self._lock:
                state = self._days.get(tenant_id)
                if state is None or state.updated_at is None or state.updating:
                    return  # an update under way writes what is pending when it is done
                if self._monotonic() - state.updated_at < self._flush_seconds:
                    return
            if not self._update(tenant_id):
                return
            with self._lock:
                if not (state.pending_events or state.pending_bytes):
                    return

    def _update(self, tenant_id: str) -> bool:
        """Writes the tenant's pending counts and learns every process's total, in one call;
        whether it did. One update per tenant at a time; a failed one keeps its counts pending."""
        with self._lock:
            state = self._days.get(tenant_id)
            if state is None or state.updating:
                return False
            state.updating = True
            events, size = state.pending_events, state.pending_bytes
            state.pending_events = state.pending_bytes = 0
        totals = self._write(tenant_id, state.day, events, size)
        with self._lock:
            state.updating = False
            if totals is None:
                state.pending_events += events
                state.pending_bytes += size
                # Tried: the next try waits its interval (a failing table is not hammered).
                state.updated_at = self._monotonic()
                return False
            state.total_events, state.total_bytes = totals
            state.updated_at = self._monotonic()
        return True

    def _write(self, tenant_id: str, day: str, events: int, size: int) -> tuple[int, int] | None:
        expires = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) + _KEEP_SECONDS
        try:
            response = call_with_retry(
                lambda: self._client.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"{tenant_id}#{day}"}},
                    UpdateExpression="ADD events :e, #bytes :b SET expires_at = :x",
                    ExpressionAttributeNames={"#bytes": "bytes"},
                    ExpressionAttributeValues={
                        ":e": {"N": str(events)},
                        ":b": {"N": str(size)},
                        ":x": {"N": str(expires)},
                    },
                    ReturnValues="ALL_NEW",
                ),
                Deadline(_FLUSH_SECONDS),
            )
        except Exception:
            log.warning("usage not updated", extra={"events": events, "bytes": size}, exc_info=True)
            return None
        item = response["Attributes"]
        return int(item["events"]["N"]), int(item["bytes"]["N"])


def _refused(quota: Quota, what: str, limit: int, used: int, now: datetime) -> QuotaExceeded:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    retry_after = max(1, int((midnight - now).total_seconds() + 0.999))
    return QuotaExceeded(
        f"Daily quota reached: {limit:,} {what} per UTC day (used {used:,}); it resets at "
        "00:00 UTC",
        retry_after=retry_after,
        quota={"eventsPerDay": quota.events_per_day, "bytesPerDay": quota.bytes_per_day},
    )
