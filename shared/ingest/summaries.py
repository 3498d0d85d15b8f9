"""Per-conversation summaries of stored records: what the console's conversation list reads.

Item layout (ConversationSummariesTable in template.yaml):
  pk   "<tenant>#<conversation_id>"         one item per conversation
  gpk  tenant                               GSI `by_activity` partition: a tenant's list
  gsk  "<last activity>#<conversation_id>"  GSI sort key: newest activity first, time ranges
  cid, env (environment of the latest record written), src (string set of message sources),
  n (records stored), first / last (first and last activity), seq (see below)

Kept off the ingest write path: the records table's stream (NEW_AND_OLD_IMAGES; summaries read
the new image) feeds the summaries worker (functions/summaries_worker), whose event source
mapping passes only record items
(INSERT/MODIFY with an `ok`, and REMOVEs; OTel trace-map items have no `ok`). One UpdateItem per
conversation per stream batch: an INSERT adds 1 to `n`, a REMOVE (an OTel trace's records moved
to the conversation its root names) takes 1 off, a MODIFY (the same record stored again) counts
nothing; INSERT and MODIFY move `last`. A conversation whose records all moved away loses its
summary. Activity is when the record was stored: the stream's creation second, to the
millisecond by the request's receive time (in `ok`) when that falls within that second.

Idempotent under Lambda's retries: `seq` holds the highest stream sequence number applied,
zero-padded to 40 digits (sequence numbers have up to 40; DynamoDB numbers hold 38), so string
order is numeric order. An update applies only changes after `seq`; a redelivered batch, or one
re-cut after a partial failure, changes nothing twice.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared import cursors
from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry
from shared.errors import StorageUnavailable
from shared.fields import format_timestamp
from shared.ingest import codec
from shared.ingest.records import MESSAGE_SOURCES
from shared.logs import get_logger

log = get_logger("summaries")

ACTIVITY_INDEX = "by_activity"
# A filtered page reads at most this many index pages before answering with a cursor, so a
# rare filter over 100,000 conversations stays one quick request per page.
MAX_QUERIES_PER_PAGE = 8


@dataclass(frozen=True)
class ConversationSummary:
    conversation_id: str
    environment: str
    sources: list[str]
    records: int
    first_activity: str
    last_activity: str


@dataclass(frozen=True)
class SummaryFilter:
    environment: str | None = None
    source: str | None = None
    since: str | None = None  # inclusive, a timestamp prefix (`2026-01-01` or a full time)
    until: str | None = None  # inclusive


SEQUENCE_DIGITS = 40  # a stream sequence number's longest form
NANOS = 1_000_000_000
Kind = Literal["INSERT", "MODIFY", "REMOVE"]


@dataclass(frozen=True)
class RecordChange:
    """One stream record of a record item, reduced to what its conversation's summary needs."""

    pk: str
    sequence: str  # zero-padded: string order is numeric order
    stream_sequence: str  # as the stream spells it: what a batch item failure names
    kind: Kind
    environment: str = ""  # these three: INSERT and MODIFY only
    source: str = ""
    activity: str = ""


def record_change(record: dict[str, Any]) -> RecordChange | None:
    """The change a stream record makes to a summary; None for anything but a record item."""
    kind = record.get("eventName")
    stream = record.get("dynamodb") or {}
    sequence = stream.get("SequenceNumber")
    if kind not in ("INSERT", "MODIFY", "REMOVE") or not isinstance(sequence, str):
        return None
    pk = (stream.get("Keys") or {}).get("pk", {}).get("S", "")
    if "#" not in pk or pk.startswith("trace|"):  # trace-map items live outside conversations
        return None
    padded = sequence.zfill(SEQUENCE_DIGITS)
    if kind == "REMOVE":
        return RecordChange(pk, padded, sequence, kind)
    image = stream.get("NewImage") or {}
    if "ok" not in image or "env" not in image:
        return None  # not a record
    return RecordChange(
        pk,
        padded,
        sequence,
        kind,
        environment=image["env"]["S"],
        source=_source(codec.record_text(image.get("rec"))),
        activity=_activity(stream.get("ApproximateCreationDateTime"), image["ok"]["S"]),
    )


def _source(rec: str | None) -> str:
    try:
        source = json.loads(rec or "").get("message_source")
    except (ValueError, AttributeError, RecursionError):  # not a record: its source is unknown
        source = None
    return source if isinstance(source, str) and source else "unknown"


def _activity(created: Any, order_key: str) -> str:
    """When the record was stored. The stream gives the second; the request's receive time
    (ok = "<timestamp>#<received ns>#<seq>") gives the millisecond when it falls in that second
    (OTel spans and archive replays carry other times there, so they get the second)."""
    try:
        received_ns = int(order_key.rsplit("#", 2)[1])
    except (IndexError, ValueError):
        received_ns = None
    if isinstance(created, int | float):
        second_ns = int(created) * NANOS
        if received_ns is None or not second_ns <= received_ns < second_ns + NANOS:
            received_ns = second_ns
    if received_ns is None:  # neither: only a hand-made record; "now" is the best guess
        return format_timestamp(datetime.now(UTC))
    return format_timestamp(datetime.fromtimestamp(received_ns / NANOS, UTC))


class SummaryConflict(Exception):
    """A summary changed between reading and updating it: the batch is retried."""


Applied = Literal["applied", "already", "skipped"]


class SummaryStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def apply(self, changes: Sequence[RecordChange], deadline: Deadline) -> Applied:
        """Apply one conversation's changes (in stream order) that its summary has not seen."""
        pk = changes[0].pk
        ok = self._client.exceptions.ConditionalCheckFailedException
        try:  # the usual case: nothing of this batch applied yet, one call
            self._update(pk, changes, None, deadline)
            return "applied"
        except ok:
            pass
        # Seen already (a retried or re-cut batch), or removals of an unknown conversation.
        item = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True
            ),
            deadline,
        ).get("Item")
        if item is None or "seq" not in item:
            return "skipped"  # only removals, of records stored before summaries existed
        seen = item["seq"]["S"]
        unseen = [c for c in changes if c.sequence > seen]
        if not unseen:
            if int(item["n"]["N"]) <= 0 and any(c.kind == "REMOVE" for c in changes):
                self._drop_if_empty(pk, seen, deadline)  # a retry after a crash in between
            return "already"
        try:
            self._update(pk, unseen, seen, deadline)
        except ok:
            # Only one worker reads a shard: somebody else changed the summary meanwhile.
            raise SummaryConflict(pk) from None
        return "applied"

    def _update(
        self, pk: str, changes: Sequence[RecordChange], seen: str | None, deadline: Deadline
    ) -> None:
        """One UpdateItem for `changes`, conditional on the summary's `seq`: older than every
        change (seen=None), or exactly `seen`."""
        written = [c for c in changes if c.kind != "REMOVE"]
        delta = sum(1 if c.kind == "INSERT" else -1 if c.kind == "REMOVE" else 0 for c in changes)
        last_seq = max(c.sequence for c in changes)
        values: dict[str, Any] = {":n": {"N": str(delta)}, ":seq": {"S": last_seq}}
        names: dict[str, str] = {}
        update = "SET seq = :seq"
        if written:
            tenant, conversation_id = pk.split("#", 1)  # tenants never hold '#'
            latest = max(written, key=lambda c: c.sequence)
            first = min(c.activity for c in written)
            last = max(c.activity for c in written)
            update += (
                ", gpk = :t, gsk = :g, cid = :c, env = :e, #last = :last, "
                "#first = if_not_exists(#first, :first) ADD src :s,"
            )
            names = {"#first": "first", "#last": "last"}
            values |= {
                ":t": {"S": tenant},
                ":g": {"S": f"{last}#{conversation_id}"},
                ":c": {"S": conversation_id},
                ":e": {"S": latest.environment},
                ":first": {"S": first},
                ":last": {"S": last},
                ":s": {"SS": sorted({c.source for c in written})},
            }
        else:
            update += " ADD"
        update += " n :n"
        if seen is not None:
            condition = "seq = :seen"
            values[":seen"] = {"S": seen}
        else:
            condition = "attribute_not_exists(seq) OR seq < :lo"
            values[":lo"] = {"S": min(c.sequence for c in changes)}
            if not written:  # removals never create a summary
                condition = f"attribute_exists(pk) AND ({condition})"
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ReturnValues": "UPDATED_NEW",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        answer = call_with_retry(lambda: self._client.update_item(**request), deadline)
        removed = len(written) < len(changes)
        if removed and int(answer["Attributes"]["n"]["N"]) <= 0:
            self._drop_if_empty(pk, last_seq, deadline)

    def _drop_if_empty(self, pk: str, seq: str, deadline: Deadline) -> None:
        """Delete a summary whose records all moved away, unless it changed since."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            call_with_retry(
                lambda: self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": {"S": pk}},
                    ConditionExpression="seq = :seq AND n <= :zero",
                    ExpressionAttributeValues={":seq": {"S": seq}, ":zero": {"N": "0"}},
                ),
                deadline,
            )

    def list(
        self,
        tenant_id: str,
        filters: SummaryFilter,
        *,
        limit: int,
        cursor: str | None,
        deadline: Deadline,
    ) -> tuple[list[ConversationSummary], str | None]:
        """A tenant's conversations, newest activity first."""
        values: dict[str, Any] = {":t": {"S": tenant_id}}
        condition = "gpk = :t"
        if filters.since and filters.until:
            condition += " AND gsk BETWEEN :lo AND :hi"
        elif filters.since:
            condition += " AND gsk >= :lo"
        elif filters.until:
            condition += " AND gsk <= :hi"
        if filters.since:
            values[":lo"] = {"S": filters.since}
        if filters.until:
            values[":hi"] = {"S": filters.until + "\uffff"}  # the whole `until` day or instant
        wanted = []
        if filters.environment:
            wanted.append("env = :env")
            values[":env"] = {"S": filters.environment}
        if filters.source:
            wanted.append("contains(src, :src)")
            values[":src"] = {"S": filters.source}
        scope = _scope(tenant_id, filters)
        start = _decode_cursor(cursor, tenant_id, scope) if cursor else None
        found: list[ConversationSummary] = []
        for _ in range(MAX_QUERIES_PER_PAGE):
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": ACTIVITY_INDEX,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
                "Limit": limit - len(found),
            }
            if wanted:
                query["FilterExpression"] = " AND ".join(wanted)
            if start:
                query["ExclusiveStartKey"] = start
            page = call_with_retry(lambda: self._client.query(**query), deadline)  # noqa: B023
            found += [_summary(item) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return found, None
            if len(found) >= limit:
                break
        return found, cursors.seal_key(start, _POSITION, scope) if start else None


def _summary(item: Item) -> ConversationSummary:
    """A stored summary as listed. Never fails on what is stored: an attribute missing or of
    another type (an item written by hand or by an older version) reads as empty, a source
    Parley never writes as `unknown`, and the conversation id falls back to the key's."""

    def text(name: str) -> str:
        value = (item.get(name) or {}).get("S")
        return value if isinstance(value, str) else ""

    sources = (item.get("src") or {}).get("SS")
    if not isinstance(sources, list):
        sources = []
    count = str((item.get("n") or {}).get("N", ""))
    return ConversationSummary(
        conversation_id=text("cid") or text("pk").partition("#")[2],
        environment=text("env"),
        sources=sorted({s if s in MESSAGE_SOURCES else "unknown" for s in sources}),
        records=int(count) if count.isascii() and count.isdigit() and len(count) < 20 else 0,
        first_activity=text("first"),
        last_activity=text("last"),
    )


def _scope(tenant_id: str, filters: SummaryFilter) -> tuple[str, ...]:
    """What a cursor is bound to: this tenant's list under these same filters."""
    return (
        "summaries",
        tenant_id,
        filters.environment or "",
        filters.source or "",
        filters.since or "",
        filters.until or "",
    )


# Only the index position: the partition key is the tenant's and the conversation's, which the
# position names after its `#`.
_POSITION = ("gsk",)


def _decode_cursor(cursor: str, tenant_id: str, scope: tuple[str, ...]) -> Item:
    position = cursors.open_key(cursor, _POSITION, scope)
    conversation_id = position["gsk"]["S"].partition("#")[2]
    return {"pk": {"S": f"{tenant_id}#{conversation_id}"}, "gpk": {"S": tenant_id}, **position}


class SummaryWorker:
    """Records table stream batches → summaries (functions/summaries_worker)."""

    def __init__(self, store: SummaryStore, deadline_seconds: float, concurrency: int) -> None:
        self._store = store
        self._deadline_seconds = deadline_seconds
        self._executor = ThreadPoolExecutor(concurrency, thread_name_prefix="summary")

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """A stream batch → the partial batch response (ReportBatchItemFailures): a
        conversation whose update failed is retried from its first record of the batch (what
        follows comes again too; updates already applied are skipped by their `seq`)."""
        by_conversation: dict[str, list[RecordChange]] = {}
        for record in event.get("Records", []):
            change = record_change(record)
            if change is not None:
                by_conversation.setdefault(change.pk, []).append(change)
        deadline = Deadline(self._deadline_seconds)
        futures = {
            pk: self._executor.submit(self._store.apply, changes, deadline)
            for pk, changes in by_conversation.items()
        }
        outcomes: dict[str, int] = {}
        retry_from: RecordChange | None = None
        for pk, future in futures.items():
            outcome: str
            try:
                outcome = future.result()
            except Exception as exc:
                # Storage faults (StorageUnavailable after retries), conflicts, anything else:
                # never dropped, the batch is retried from here (then the on-failure queue).
                log.warning(
                    "summary deferred",
                    extra={"error": type(exc).__name__, "detail": str(exc)},
                    exc_info=not isinstance(exc, StorageUnavailable | SummaryConflict),
                )
                outcome = "failed"
                first = by_conversation[pk][0]
                if retry_from is None or first.sequence < retry_from.sequence:
                    retry_from = first
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        log.info(
            "summaries",
            extra={"records": len(event.get("Records", [])), **outcomes},
        )
        if retry_from is None:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": retry_from.stream_sequence}]}
