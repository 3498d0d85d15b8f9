"""Stream records → lake rows → Parquet (the lake writer functions; docs/lake.md).

Two stream workers, never on a write path:
- `RecordsLakeWorker` reads the records table's stream (NEW_AND_OLD_IMAGES): every `/v1/ingest`,
  `/multi`, `/vogent-raw` and OTLP record. An INSERT or MODIFY is one row; a REMOVE (an OTel
  record moved to the conversation its trace's root names) is a tombstone.
- `ConversationsLakeWorker` reads the conversations table's stream (NEW_AND_OLD_IMAGES), its
  META items only: every create, append, status change and insights write changes META, so the
  worker loads that conversation (one consistent query) and writes all its messages again as a
  new version, with its current status and insights. A removed conversation is tombstones.

Versions (readers and compaction keep the highest per row identity, a tombstone winning a tie):
- records: the stream record's creation time in µs (Lambda gives seconds): a later write wins,
  and a redelivered stream record yields the same version, so it is one row for readers;
- conversations: 2 x the conversation's `version` (+1 once insights exist): a function of the
  stored state, so a redelivery or a reload writes the same version again.

Failures: the worker writes one Parquet file per partition per batch. A batch whose write
fails answers with a batch item failure at its first record, so Lambda retries it (then the
failure queue); a record that cannot become a row (a malformed image) is logged with its
sequence number and skipped: retrying it would only block the shard.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from shared.conversations.models import Conversation
from shared.dynamo import Deadline
from shared.errors import StorageUnavailable
from shared.ingest import codec
from shared.lake.models import LakeRow, flatten, integer, json_text, parse_timestamp
from shared.lake.store import LakeStore
from shared.logs import get_logger

log = get_logger("lake")

MICROS = 1_000_000
ConversationLoader = Callable[[str, str, Deadline], Conversation | None]


def _created_micros(stream: dict[str, Any]) -> int:
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, int | float) and not isinstance(created, bool):
        return int(created * MICROS)
    raise ValueError("stream record without ApproximateCreationDateTime")


def _batch_failure(records: list[dict[str, Any]]) -> dict[str, Any]:
    first = records[0]["dynamodb"]["SequenceNumber"]
    return {"batchItemFailures": [{"itemIdentifier": first}]}


# --- records table ---------------------------------------------------------------------------


def record_text(rec: dict[str, Any]) -> str:
    """The searchable text of a stored ingest record (as sent, not normalized): the email
    subject, the message (for standard events it already holds their text blocks), tool names
    with their arguments and results flattened, tool blocks of the content."""
    parts: list[str] = []
    if isinstance(subject := rec.get("email_subject"), str):
        parts.append(subject)
    message = rec.get("message")
    has_message = isinstance(message, str) and bool(message)
    if isinstance(message, str) and message:
        parts.append(message)
    if isinstance(name := rec.get("tool_name"), str):
        parts.append(name)
    for key in ("tool_call_request", "tool_call_response"):
        if key in rec:
            parts.append(flatten(rec[key]))
    for block in rec.get("content_blocks") or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and not has_message:
            parts.append(flatten(block.get("text")))
        elif kind == "tool_use":
            name = block.get("tool_name") or block.get("name")
            parts.append(f"{flatten(name)} {flatten(block.get('input'))}")
        elif kind == "tool_result":
            parts.append(flatten(block.get("content")))
        elif kind == "vogent_tool_call" and "tool_name" not in rec:  # else said above
            parts.append(f"{flatten(block.get('name'))} {flatten(block.get('arguments'))}")
    return "\n".join(part.strip() for part in parts if part and part.strip())


def record_source(rec: dict[str, Any]) -> str:
    """`otel` for what came as OTLP spans (their records carry the span id), else the
    record's `message_source`."""
    metadata = rec.get("metadata")
    if isinstance(metadata, dict) and "otel.span_id" in metadata:
        return "otel"
    source = rec.get("message_source")
    return source if isinstance(source, str) and source else "chat"


def record_rows(record: dict[str, Any]) -> list[LakeRow]:
    """A records-table stream record as rows: the record's row for an INSERT or MODIFY, a
    tombstone for a REMOVE (dated by the old image, so it lands in the removed row's
    partition) unless DynamoDB's TTL made it, and both for a MODIFY that moved the record to
    another date; nothing for items that are not records (OTel trace maps)."""
    stream = record["dynamodb"]
    keys = stream.get("Keys") or {}
    pk = keys.get("pk", {}).get("S", "")
    if "#" not in pk or pk.startswith("trace|"):
        return []
    version = _created_micros(stream)
    old = _image_row(stream.get("OldImage"), version - 1)  # below the write that replaced it
    if record["eventName"] == "REMOVE":
        if _expired(record):
            return []  # the retention ends its time in the table, not in the lake
        if old is None:
            raise ValueError("REMOVE without the old image (the stream must be NEW_AND_OLD_IMAGES)")
        old.version = version
        return [_tombstone(old)]
    new = _image_row(stream.get("NewImage"), version)
    if new is None:
        return []
    if old is not None and old.date != new.date:
        return [new, _tombstone(old)]
    return [new]


def _expired(record: dict[str, Any]) -> bool:
    """A REMOVE made by DynamoDB's TTL (RecordsRetentionDays), not by Parley."""
    identity = record.get("userIdentity") or {}
    return bool(
        identity.get("type") == "Service"
        and identity.get("principalId") == "dynamodb.amazonaws.com"
    )


def _tombstone(row: LakeRow) -> LakeRow:
    row.deleted = True
    return row


def _image_row(image: dict[str, Any] | None, version: int) -> LakeRow | None:
    if not image or "rec" not in image or "ok" not in image:
        return None
    tenant, conversation_id = image["pk"]["S"].split("#", 1)  # tenants never hold '#'
    text = codec.record_text(image["rec"])
    if text is None:
        return None  # not a record's JSON in either stored form: nothing to analyse
    rec = json.loads(text)
    created = datetime.fromtimestamp(version / MICROS, UTC)
    metadata = rec.get("metadata")
    return LakeRow(
        tenant_id=tenant,
        conversation_id=conversation_id,
        record_id=image["sk"]["S"],
        source=record_source(rec),
        ts=parse_timestamp(rec.get("timestamp"), created),
        seq=image["ok"]["S"],
        version=version,
        text=record_text(rec),
        role=_text_or_none(rec.get("role")),
        environment=_text_or_none(rec.get("environment")),
        model=_text_or_none(rec.get("model")),
        provider=_text_or_none(rec.get("provider")),
        input_tokens=integer(rec.get("input_tokens")),
        output_tokens=integer(rec.get("output_tokens")),
        latency_ms=_latency(rec),
        metadata=json_text(metadata) if isinstance(metadata, dict) else "{}",
    )


def _latency(rec: dict[str, Any]) -> int | None:
    """Ingest records have no latency field; a call utterance's timings give one."""
    start, end = integer(rec.get("start_time_ms")), integer(rec.get("end_time_ms"))
    if start is not None and end is not None and end >= start:
        return end - start
    return None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class RecordsLakeWorker:
    """Records table stream batches → lake rows (functions/lake_records_worker)."""

    def __init__(self, store: LakeStore) -> None:
        self._store = store

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        records = event.get("Records") or []
        rows: list[LakeRow] = []
        for record in records:
            try:
                rows += record_rows(record)
            except (KeyError, TypeError, ValueError) as exc:
                log.error(
                    "lake: stream record skipped, not a readable record",
                    extra={
                        "sequence": (record.get("dynamodb") or {}).get("SequenceNumber"),
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
        return _write(self._store, rows, records)


def _write(store: LakeStore, rows: list[LakeRow], records: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {"batchItemFailures": []}
    try:
        store.write_rows(rows)
    except StorageUnavailable as exc:
        log.warning("lake: batch write failed, retried", extra={"error": str(exc)})
        return _batch_failure(records)
    log.info("lake: rows written", extra={"rows": len(rows)})
    return {"batchItemFailures": []}


# --- conversations table ---------------------------------------------------------------------


def conversation_rows(tenant: str, conversation: Conversation) -> list[LakeRow]:
    """Every message of a conversations API conversation (Converra runs included) as rows."""
    version = 2 * conversation.version + (1 if conversation.insights is not None else 0)
    insights = json_text(conversation.insights) if conversation.insights is not None else None
    created = parse_timestamp(conversation.created_at, datetime.now(UTC))
    attributes = conversation.attributes
    conversation_model = _text_or_none(attributes.get("llmModel"))
    rows = []
    for index, message in enumerate(conversation.messages or []):
        usage = message.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        metadata = dict(conversation.metadata)
        if isinstance(message_metadata := message.get("metadata"), dict):
            metadata |= message_metadata
        text = flatten(message.get("content"))
        if tool_calls := message.get("toolCalls"):
            text = "\n".join(part for part in (text, flatten(tool_calls)) if part)
        latency = message.get("latencyMs")
        rows.append(
            LakeRow(
                tenant_id=tenant,
                conversation_id=conversation.id,
                record_id=f"{conversation.id}:{index}",
                source="conversations",
                # A message without its own time takes the conversation's creation time: fixed,
                # so every version of the row stays in one partition.
                ts=parse_timestamp(message.get("timestamp"), created),
                seq=f"{index:06d}",
                version=version,
                text=text,
                role=_text_or_none(message.get("role")),
                environment=_text_or_none(attributes.get("environment")),
                model=_text_or_none(message.get("model")) or conversation_model,
                provider=_text_or_none(attributes.get("provider")),
                input_tokens=integer(usage.get("promptTokens")),
                output_tokens=integer(usage.get("completionTokens"))
                or integer(message.get("tokens")),
                latency_ms=round(latency) if isinstance(latency, int | float) else None,
                metadata=json_text(metadata),
                status=conversation.status,
                insights=insights,
            )
        )
    return rows


def removed_conversation_rows(record: dict[str, Any]) -> list[LakeRow]:
    """Tombstones for every message of a removed conversation (from its old META image)."""
    old = record["dynamodb"].get("OldImage") or {}
    tenant, _, conversation_id = old["pk"]["S"].partition("#")
    count = int(old["message_count"]["N"])
    version = 2 * int(old["version"]["N"]) + 2  # above every version its rows had
    created = parse_timestamp(old["created_at"]["S"], datetime.now(UTC))
    return [
        LakeRow(
            tenant_id=tenant,
            conversation_id=conversation_id,
            record_id=f"{conversation_id}:{index}",
            source="conversations",
            ts=created,
            seq=f"{index:06d}",
            version=version,
            deleted=True,
        )
        for index in range(count)
    ]


class ConversationsLakeWorker:
    """Conversations table stream batches (META items) → lake rows
    (functions/lake_conversations_worker)."""

    def __init__(self, load: ConversationLoader, store: LakeStore, deadline_seconds: float) -> None:
        self._load = load
        self._store = store
        self._deadline_seconds = deadline_seconds

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        records = event.get("Records") or []
        touched: dict[tuple[str, str], dict[str, Any]] = {}  # conversation → its last record
        for record in records:
            keys = (record.get("dynamodb") or {}).get("Keys") or {}
            if keys.get("sk", {}).get("S") != "META":
                continue
            tenant, _, conversation_id = keys["pk"]["S"].partition("#")
            touched[(tenant, conversation_id)] = record
        rows: list[LakeRow] = []
        deadline = Deadline(self._deadline_seconds)
        for (tenant, conversation_id), record in touched.items():
            try:
                conversation = self._load(tenant, conversation_id, deadline)
            except StorageUnavailable as exc:
                log.warning("lake: conversation not loaded, retried", extra={"error": str(exc)})
                return _batch_failure(records)
            try:
                if conversation is not None:
                    rows += conversation_rows(tenant, conversation)
                elif record["eventName"] == "REMOVE":
                    rows += removed_conversation_rows(record)
            except (KeyError, TypeError, ValueError) as exc:
                log.error(
                    "lake: conversation skipped, not readable",
                    extra={"conversation": conversation_id, "error": f"{type(exc).__name__}"},
                )
        return _write(self._store, rows, records)


def rows_by_partition(rows: Iterable[LakeRow]) -> dict[tuple[str, str], list[LakeRow]]:
    grouped: dict[tuple[str, str], list[LakeRow]] = {}
    for row in rows:
        grouped.setdefault((row.tenant_id, row.date), []).append(row)
    return grouped
