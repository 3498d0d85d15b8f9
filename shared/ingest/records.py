"""The normalized record every ingest endpoint stores, and the pieces all event models share.

A record is a plain dict with the keys docs/ingest-api.md's Records section lists, absent when
unknown. Event models build records through `IngestEvent.new_record`, so ids, timestamps,
environment, metadata and `extra` are filled the same way for every endpoint.
"""

# No `from __future__ import annotations` in this module: pydantic would compile every field's
# annotation from its string when the class is made, on every cold start (docs/performance.md).
import hashlib
from abc import ABC, abstractmethod
from collections import Counter
from typing import Any, ClassVar, Self

import orjson
import pydantic_core
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.errors import EventError
from shared.fields import Environment, Timestamp, describe_error

Record = dict[str, Any]
# Every record's `message_source`: the event models' `message_type`s (the OTel spans' messages
# and tool calls are `chat` and `tool_call`). The summaries list filters on them.
MESSAGE_SOURCES = ("chat", "channel", "tool_call", "email", "call")

MAX_MESSAGE_BYTES = 100 * 1024


class RecordContext:
    """What a record takes from its request rather than from its event. One per request: the
    pipeline points it at each event in turn (`at`), cheaper on this hot path than building
    one per event. Event models read it while building their records and never keep it."""

    __slots__ = (
        "environment",
        "position",
        "raw",
        "received_at",
        "request_id",
        "send_scope",
        "tenant_id",
    )

    def __init__(
        self,
        tenant_id: str,
        request_id: str,
        received_at: str,
        environment: str,
        send_scope: str,
    ) -> None:
        self.tenant_id = tenant_id
        self.request_id = request_id
        self.received_at = received_at
        self.environment = environment
        # Which send this is, for events that carry neither id nor timestamp: the route and
        # the request's Idempotency-Key if it has one (a retry is the same send), else its
        # request id.
        self.send_scope = send_scope
        self.position = 0  # the current event's 0-based index in the request
        self.raw: dict[str, Any] = {}  # the current event as sent

    def at(self, position: int, raw: dict[str, Any]) -> Self:
        self.position = position
        self.raw = raw
        return self


def checked_json(value: Any) -> bytes:
    """`pydantic_core.to_json(value)`, byte for byte, for what a checked request body holds
    and what is built from it (`shared.body.parse_json`: every number finite), at about half
    the cost (orjson). orjson writes every such value exactly as pydantic does, and refuses
    the few it cannot (integers past 64 bits, lone surrogates), which pydantic then writes.
    Not for other values: orjson writes NaN and infinities as null, pydantic as NaN/Infinity.
    tests/unit/test_wire_json.py holds the two to each other."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError
        return pydantic_core.to_json(value)


def _canonical_json(raw: dict[str, Any]) -> bytes:
    """A checked event's JSON with every object's keys sorted (code point order): what the
    content-derived ids hash."""
    try:
        return orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return pydantic_core.to_json(_sorted(raw))


def record_id(tenant_id: str, kind: str, key: str) -> str:
    """Deterministic: the same tenant, kind and key always give the same id (idempotent resends)."""
    digest = hashlib.sha256(f"{tenant_id}\x1f{kind}\x1f{key}".encode()).hexdigest()
    return f"rec_{digest[:32]}"


def content_record_id(ctx: RecordContext, kind: str) -> str:
    """For events with a timestamp but no id: their position and canonical content, timestamp
    included (sorted keys, so two sends of the same event hash alike whatever their key order).
    Exactly-once across resends of any request."""
    digest = hashlib.sha256(f"{ctx.tenant_id}\x1f{kind}\x1f{ctx.position}:".encode())
    digest.update(_canonical_json(ctx.raw))
    return f"rec_{digest.hexdigest()[:32]}"


def send_record_id(ctx: RecordContext, kind: str) -> str:
    """For events with neither id nor timestamp: the send they came in, their position and
    content. Two separate sends of the same words are two records (each has its own request
    id); a retry under the same Idempotency-Key overwrites what the first attempt wrote; a key
    reused for other events can never overwrite them (the content differs)."""
    digest = hashlib.sha256(
        f"{ctx.tenant_id}\x1f{kind}\x1f{ctx.send_scope}\x1f{ctx.position}:".encode()
    )
    digest.update(_canonical_json(ctx.raw))
    return f"rec_{digest.hexdigest()[:32]}"


def _sorted(value: Any) -> Any:
    # Recurse only into containers: most values are leaves, and a call per leaf doubles the cost.
    if type(value) is dict:
        return {
            key: _sorted(item) if type(item) is dict or type(item) is list else item
            for key in sorted(value)
            for item in (value[key],)
        }
    if type(value) is list:
        return [
            _sorted(item) if type(item) is dict or type(item) is list else item for item in value
        ]
    return value


class IngestEvent(BaseModel, ABC):
    """Base of every event model. Subclasses declare fields and build their records."""

    # defer_build: a model's validator is built on first use, so a cold start pays only for
    # the models its endpoint actually meets.
    model_config = ConfigDict(strict=True, extra="allow", frozen=True, defer_build=True)

    # Key in the response's `details` and the record's `message_source`.
    message_type: ClassVar[str]
    # Prefix of "missing" errors, as the replaced APIs word them ("Channel message missing 'id'").
    label: ClassVar[str] = ""
    # Fields copied to the record under their (snake_case) field name when present.
    copied_fields: ClassVar[tuple[str, ...]] = ()

    environment: Environment | None = None
    timestamp: Timestamp | None = None

    @classmethod
    def validate_event(cls, raw: dict[str, Any], index: int) -> "IngestEvent | EventError":
        try:
            # The compiled validator itself: `model_validate` adds a Python call per event.
            event: IngestEvent = cls.__pydantic_validator__.validate_python(raw)
            return event
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_context=True)[0]
            field = ".".join(str(p) for p in first["loc"]) or None
            return EventError(index, field, cls.describe(first))

    @classmethod
    def describe(cls, error: pydantic_core.ErrorDetails) -> str:
        return describe_error(error, cls.label)

    def texts(self) -> list[tuple[str, str]]:
        """(field, text) pairs that the 100 KB per-message limit applies to: every place a
        message's text can arrive."""
        return []

    def texts_in_records(self) -> bool:
        """Whether each of `texts()` is stored whole, as a JSON string, in one of this event's
        records. Then no text can pass the limit while every record's JSON is within it, and
        the texts need not be listed one by one (see `oversized_text`)."""
        return False

    @abstractmethod
    def to_records(self, ctx: RecordContext) -> list[Record]:
        """The records this event becomes, in the order they are stored."""

    def count_into(self, details: Counter[str], records: list[Record]) -> None:
        details[self.message_type] += 1

    def new_record(
        self, ctx: RecordContext, *, record_id: str, conversation_id: str, source: str
    ) -> Record:
        fields = self.__dict__  # plain dict reads: this runs once per record
        received_at = ctx.received_at
        record: Record = {
            "id": record_id,
            "conversation_id": conversation_id,
            "message_source": source,
            "environment": fields["environment"] or ctx.environment,
            "timestamp": fields["timestamp"] or received_at,
            "received_at": received_at,
            "request_id": ctx.request_id,
            "has_tool_use": False,
        }
        for name in self.copied_fields:
            value = fields[name]
            if value is not None:
                record[name] = value
        if "trace_id" not in record:
            record["trace_id"] = conversation_id
        if extra := self.__pydantic_extra__:
            record["extra"] = dict(extra)
        return record


def oversized_text(event: IngestEvent, index: int, largest_record: int) -> EventError | None:
    """The first text over the per-message limit. `largest_record`: the size of the event's
    largest record as JSON, which bounds every text the records hold whole."""
    if largest_record <= MAX_MESSAGE_BYTES and event.texts_in_records():
        return None
    for field, text in event.texts():
        # Four bytes per character at most: short texts skip the encode.
        if len(text) * 4 > MAX_MESSAGE_BYTES and len(encoded := text.encode()) > MAX_MESSAGE_BYTES:
            return EventError(
                index,
                field,
                f"{field} is {len(encoded):,} bytes; the limit is "
                f"{MAX_MESSAGE_BYTES:,} bytes (100 KB) per message",
                too_large=True,
            )
    return None
