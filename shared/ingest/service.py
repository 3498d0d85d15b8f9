"""The ingest pipeline shared by `/v1/ingest`, `/v1/ingest/multi` and `/v1/ingest/vogent-raw`.

The endpoints differ only in their `IngestPolicy` (which model validates which event, which
counts the response's `details` carries); parsing, limits, record building, storage,
idempotency and the answer are one path.
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import Any

from pydantic import ValidationError

from shared.body import parse_json
from shared.dynamo import Deadline
from shared.errors import (
    BadRequest,
    EventError,
    InvalidEvents,
    PayloadTooLarge,
)
from shared.fields import DEFAULT_ENVIRONMENT, check_environment, echo
from shared.idempotency import Answer, IdempotencyStore, key_scope, run_once
from shared.ingest.archive import ArchivedRequest, ArchiveStore
from shared.ingest.records import (
    MAX_MESSAGE_BYTES,
    IngestEvent,
    Record,
    RecordContext,
    checked_json,
    oversized_text,
)
from shared.ingest.store import MAX_RECORD_BYTES, PreparedRecord, RecordStore
from shared.ingest.views import Outcome, answer
from shared.logs import get_logger
from shared.quotas import UsageCounter

MAX_EVENTS = 1000
MAX_RECORDS = 50_000

log = get_logger("ingest")


@dataclass(frozen=True)
class IngestPolicy:
    route: str
    # Model per `messageType` value; `untyped` validates events without one.
    typed: Mapping[str, type[IngestEvent]]
    untyped: type[IngestEvent] | None
    untyped_error: str = "missing 'messageType'"
    # Counters reported under `details`, and whether they appear when all are zero.
    details_keys: tuple[str, ...] = ()
    details_always: bool = False

    def model_for(self, event: dict[str, Any]) -> type[IngestEvent] | str:
        """The model for an event, or the reason it has none."""
        if self.untyped is not None and not self.typed:
            return self.untyped
        kind = event.get("messageType")
        if kind is None:
            return self.untyped or self.untyped_error
        if isinstance(kind, str) and kind in self.typed:
            return self.typed[kind]
        return f"messageType must be one of {', '.join(self.typed)} (got {echo(kind)})"

    @cached_property
    def _validators(self) -> dict[str | None, Callable[[Any], IngestEvent]]:
        """Compiled validators by `messageType` (None: events without one), each added when
        first met: a cold start builds only the models its first request needs."""
        return {}

    def validator_for(self, raw: Any) -> Callable[[Any], IngestEvent] | None:
        """The compiled validator of the model `model_for` chooses for an event, or None
        when it chooses none. Looked up by `messageType`: this runs once per event."""
        if not isinstance(raw, dict):
            return None
        kind = raw.get("messageType") if self.typed else None
        if kind is not None and not isinstance(kind, str):
            return None
        validators = self._validators
        validate = validators.get(kind)
        if validate is None:
            model = self.model_for(raw)
            if isinstance(model, str):
                return None
            validate = validators[kind] = model.__pydantic_validator__.validate_python
        return validate

    def details(self, counts: Counter[str]) -> dict[str, int] | None:
        if not self.details_keys:
            return None
        values = {key: counts[key] for key in self.details_keys}
        return values if self.details_always or any(values.values()) else None


@dataclass(frozen=True)
class RequestInfo:
    tenant_id: str
    request_id: str
    received_at: str
    received_ns: int  # the same moment in nanoseconds: orders requests within a millisecond
    idempotency_key: str | None = None
    plan: str | None = None  # the key's usage plan: which daily quota applies (shared/quotas.py)

    def send_scope(self, route: str) -> str:
        """What identifies this send: a retry under the same Idempotency-Key is the same send;
        without a key every request is a send of its own."""
        if self.idempotency_key is not None:
            return f"{route}\x1fkey\x1f{self.idempotency_key}"
        return f"{route}\x1frequest\x1f{self.request_id}"


@dataclass
class Batch:
    """What a request's events became: records in emission order, and the events refused."""

    prepared: list[PreparedRecord] = field(default_factory=list)
    errors: list[EventError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def _request_events(payload: Any) -> tuple[list[Any], str]:
    if not isinstance(payload, dict):
        raise BadRequest("Request body must be a JSON object with an 'events' array")
    environment = check_environment(payload.get("environment", DEFAULT_ENVIRONMENT))
    events = payload.get("events")
    if events is None:
        raise BadRequest("Missing 'events' array")
    if not isinstance(events, list):
        raise BadRequest("'events' must be an array")
    if not events:
        raise BadRequest("'events' must contain at least one event")
    if len(events) > MAX_EVENTS:
        raise PayloadTooLarge(
            f"Request has {len(events):,} events; the limit is {MAX_EVENTS:,} events per request"
        )
    return events, environment


def build_batch(policy: IngestPolicy, payload: Any, info: RequestInfo) -> Batch:
    """Validate every event and build its records. Raises only for request-level problems."""
    events, environment = _request_events(payload)
    request = _Request(info, environment, info.send_scope(policy.route))
    plain = _plain_batch(policy, events, request)
    return plain if plain is not None else _checked_batch(policy, events, request)


class _Request:
    """What every record of a request takes from it rather than from its event."""

    def __init__(self, info: RequestInfo, environment: str, scope: str) -> None:
        self.context = RecordContext(
            info.tenant_id, info.request_id, info.received_at, environment, scope
        )
        # Records hold only what a checked body holds (finite numbers): `checked_json` applies.
        self.prepare = RecordStore.preparer(info.tenant_id, info.received_ns, checked_json)


def _plain_batch(policy: IngestPolicy, events: list[Any], request: _Request) -> Batch | None:
    """The batch of a request whose events are all valid and far from every limit, built in
    one pass with no per-event bookkeeping; None for any other request (at its first invalid
    event), which `_checked_batch` then builds event by event, with the exact refusals. Both
    give the same batch wherever this one gives one (tests/unit/test_batch_paths.py)."""
    validator_for = policy.validator_for
    at, prepare = request.context.at, request.prepare
    batch = Batch()
    prepared, counts = batch.prepared, batch.counts
    add = prepared.append
    seq = 0  # the record's position in the request: ties on timestamp keep send order
    try:
        for index, raw in enumerate(events):
            # Each event validated and turned into records in turn: its objects are still in
            # the CPU's caches, and no event's model outlives its records.
            validate = validator_for(raw)
            if validate is None:
                return None
            event = validate(raw)
            records = event.to_records(at(index, raw))
            if seq + len(records) > MAX_RECORDS:
                return None
            for record in records:
                add(prepare(record, seq))
                seq += 1
            # An event that drops one of its texts has them checked one by one.
            if not event.texts_in_records() and oversized_text(event, index, 0) is not None:
                return None
            event.count_into(counts, records)
    except ValidationError:
        return None
    # Records within the per-message limit bound every text they hold whole (a stored
    # record's own limit is larger: `_checked_batch` tells the two apart).
    if max(map(_size, prepared), default=0) > MAX_MESSAGE_BYTES:
        return None
    return batch


_size = attrgetter("size")


def _checked_batch(policy: IngestPolicy, events: list[Any], request: _Request) -> Batch:
    batch = Batch()
    for index, raw in enumerate(events):
        error = _event_records(policy, raw, index, request, batch)
        if error is not None:
            batch.errors.append(error)
        if len(batch.prepared) > MAX_RECORDS:
            raise PayloadTooLarge(
                f"Request would create more than {MAX_RECORDS:,} records; "
                f"the limit is {MAX_RECORDS:,} records per request"
            )
    return batch


def accept(policy: IngestPolicy, payload: Any, info: RequestInfo, partial: bool) -> Batch:
    """The request's batch, if it is accepted: any invalid event refuses the whole request
    unless the client asked for partial success."""
    batch = build_batch(policy, payload, info)
    if batch.errors and not partial:
        raise InvalidEvents(batch.errors)
    return batch


def accepted_batch(policy: IngestPolicy, body: bytes, info: RequestInfo, partial: bool) -> Batch:
    # Parsing and building allocate tens of thousands of short-lived objects, none in a
    # cycle: the cyclic collector would rescan them ~10 times per 1,000 events for nothing
    # (~3% of the work). Reference counting frees them; collection resumes right after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return accept(policy, parse_json(body), info, partial)
    finally:
        if collecting:
            gc.enable()


def _event_records(
    policy: IngestPolicy, raw: Any, index: int, request: _Request, batch: Batch
) -> EventError | None:
    if not isinstance(raw, dict):
        return EventError(index, None, "event must be a JSON object")
    model = policy.model_for(raw)
    if isinstance(model, str):
        return EventError(index, "messageType", model)
    event = model.validate_event(raw, index)
    if isinstance(event, EventError):
        return event
    records = event.to_records(request.context.at(index, raw))
    seq = len(batch.prepared)  # position in the request: ties on timestamp keep send order
    prepared = [request.prepare(record, seq + offset) for offset, record in enumerate(records)]
    # The limits are checked on what was built: the records' JSON sizes bound the texts they
    # hold whole, so the texts are looked at one by one only when needed.
    largest = max((item.size for item in prepared), default=0)
    if (too_long := oversized_text(event, index, largest)) is not None:
        return too_long
    if largest > MAX_RECORD_BYTES:
        for record, item in zip(records, prepared, strict=True):
            if item.size > MAX_RECORD_BYTES:
                return _record_too_large(index, record, item.size)
    batch.prepared += prepared
    event.count_into(batch.counts, records)
    return None


def _record_too_large(index: int, record: Record, size: int) -> EventError:
    return EventError(
        index,
        None,
        f"record {record['id']} is {size:,} bytes once normalized; "
        f"the limit is {MAX_RECORD_BYTES:,} bytes per stored record",
        too_large=True,
    )


class IngestService:
    def __init__(
        self,
        records: RecordStore,
        idempotency: IdempotencyStore,
        archive: ArchiveStore | None = None,
        usage: UsageCounter | None = None,
    ) -> None:
        self._records = records
        self._idempotency = idempotency
        self._archive = archive
        self._usage = usage

    def ingest(
        self,
        policy: IngestPolicy,
        body: bytes,
        info: RequestInfo,
        deadline: Deadline,
        *,
        partial: bool = False,
    ) -> Outcome:
        if info.idempotency_key is None:
            return self._ingest(policy, body, info, deadline, partial)
        scope = key_scope(info.tenant_id, policy.route, info.idempotency_key)
        answer, replayed = run_once(
            self._idempotency,
            scope,
            hashlib.sha256(body).hexdigest(),
            info.request_id,
            deadline,
            lambda: self._answer(policy, body, info, deadline, partial),
        )
        if replayed:
            # The first answer unchanged, its requestId included (the endpoint's X-Request-Id
            # follows it); this request's own id is in the log line's request_id.
            log.info(
                "idempotent replay",
                extra={"route": policy.route, "replayed_request_id": answer.body.get("requestId")},
            )
        return Outcome(answer.status, answer.body, replayed)

    def _answer(
        self,
        policy: IngestPolicy,
        body: bytes,
        info: RequestInfo,
        deadline: Deadline,
        partial: bool,
    ) -> Answer:
        outcome = self._ingest(policy, body, info, deadline, partial)
        return Answer(outcome.status, outcome.body)

    def _ingest(
        self,
        policy: IngestPolicy,
        body: bytes,
        info: RequestInfo,
        deadline: Deadline,
        partial: bool,
    ) -> Outcome:
        batch = accepted_batch(policy, body, info, partial)
        if self._usage is None:
            self._store(policy, batch, body, info, deadline, partial)
        else:
            # The records stored (the answer's `count`) and the body's bytes count against the
            # tenant's daily quota (an idempotent replay never gets here: not charged again).
            with self._usage.charge(info.tenant_id, info.plan, len(batch.prepared), len(body)):
                self._store(policy, batch, body, info, deadline, partial)
        return answer(policy, batch, info)

    def _store(
        self,
        policy: IngestPolicy,
        batch: Batch,
        body: bytes,
        info: RequestInfo,
        deadline: Deadline,
        partial: bool,
    ) -> None:
        if self._archive is None:
            self._records.put(batch.prepared, deadline)
        else:
            request = ArchivedRequest(
                tenant_id=info.tenant_id,
                route=policy.route,
                request_id=info.request_id,
                received_at=info.received_at,
                received_ns=info.received_ns,
                idempotency_key=info.idempotency_key,
                partial=partial,
                body=body,
            )
            archived = self._archive.start_put(request, deadline)
            try:
                self._records.put(batch.prepared, deadline)
            except Exception:
                # Not acknowledged: the client resends, so a replay must not store this too.
                self._archive.discard_after(archived, request)
                raise
            archived.result()  # not archived: not acknowledged (a retryable 503)


def replay(
    records: RecordStore, policy: IngestPolicy, archived: ArchivedRequest, deadline: Deadline
) -> Outcome:
    """Run an archived request through today's normalization again, as the request it was
    (same tenant, request id, receive time and key, so the same record ids): its records are
    overwritten, never added twice. Neither archived again nor remembered as an answer."""
    info = RequestInfo(
        archived.tenant_id,
        archived.request_id,
        archived.received_at,
        archived.received_ns,
        archived.idempotency_key,
    )
    batch = accepted_batch(policy, archived.body, info, archived.partial)
    records.put(batch.prepared, deadline)
    return answer(policy, batch, info)
