"""One OTLP export, end to end: map every span, resolve conversations, store once, and count
what became of each span for the answer (shared.otel.views).

`map_spans` is pure (no storage): the bench and the unit tests run it directly. A span that
cannot be mapped is refused alone; only storage faults fail the export (503).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.dynamo import Deadline
from shared.errors import PayloadTooLarge
from shared.ingest.store import PreparedRecord, RecordStore, partition_key, stored_text
from shared.logs import get_logger
from shared.otel.conversations import explicit_conversation
from shared.otel.ids import rehomed
from shared.otel.models import MappedRecord, RequestFacts, SpanRejected, SpanView, where
from shared.otel.policy import MAX_RECORDS, MAX_SPANS
from shared.otel.records import span_records
from shared.otel.spans import carries_genai, span_count, spans
from shared.otel.store import TraceMap

log = get_logger("otel")

UNMAPPABLE = "an internal error, logged; quote the requestId"
# trace ids → their stored link: a conversation, or the trace id itself while orphaned
TraceLookup = Callable[[list[str]], dict[str, str]]


@dataclass
class MappedBatch:
    # (partition key, record id) → record: a message several spans carry is kept once
    records: dict[tuple[str, str], MappedRecord] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # trace → conversation to remember
    # Traces whose spans were stored under the trace id (no conversation known yet)...
    orphans: set[str] = field(default_factory=set)
    # ...and those stored so earlier whose conversation this request names: moved to it.
    adopted: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    stored: int = 0  # spans that became records
    skipped: int = 0  # spans without GenAI data
    rejected: list[str] = field(default_factory=list)  # why each refused span was refused


@dataclass(frozen=True)
class ExportOutcome:
    sent: int
    stored: int
    skipped: int
    rejected: int
    records: int
    message: str  # for partial_success: why spans were refused, or a note on skipped ones


def check_span_count(request: Any) -> int:
    count = span_count(request)
    if count > MAX_SPANS:
        raise PayloadTooLarge(
            f"Request has {count:,} spans; the limit is {MAX_SPANS:,} spans per request"
        )
    return count


def map_spans(request: Any, facts: RequestFacts, lookup: TraceLookup) -> MappedBatch:
    batch = MappedBatch(sent=check_span_count(request))
    named: dict[int, str | None] = {}
    roots: dict[str, str] = {}
    children: dict[str, str] = {}
    live: list[SpanView] = []
    for view in spans(request):
        if isinstance(view, SpanRejected):
            batch.rejected.append(view.message)
            continue
        try:
            conversation = explicit_conversation(view)
        except SpanRejected as exc:
            batch.rejected.append(exc.message)
            continue
        named[view.index] = conversation
        live.append(view)
        if conversation is not None:
            (children if view.parent_span_id else roots).setdefault(view.trace_id, conversation)
    # A trace's root names its conversation; failing that, the first span of it that names one.
    batch.links = {**children, **roots}
    # Stored links: the conversation of traces this request does not name, and whether the
    # traces it names had spans stored under their trace id before (their link is the trace id).
    wanted = {
        view.trace_id
        for view in live
        if named[view.index] is None and view.trace_id not in batch.links and carries_genai(view)
    }
    stored_links = lookup(sorted(wanted | set(batch.links))) if wanted or batch.links else {}
    batch.adopted = {
        trace: conversation
        for trace, conversation in batch.links.items()
        if stored_links.get(trace) == trace != conversation
    }
    by_trace = {**stored_links, **batch.links}
    seen: set[Any] = set()
    for view in live:
        # A span whose trace has no known conversation (a child sent before its root) is
        # stored under its trace id, and moved when the root arrives.
        conversation = named[view.index] or by_trace.get(view.trace_id) or view.trace_id
        try:
            mapped = span_records(view, conversation, facts, seen)
        except SpanRejected as exc:
            batch.rejected.append(exc.message)
            continue
        except Exception:
            # A mapping bug must not fail the good spans with it, nor make the exporter resend
            # the same request forever: the span is refused, the fault logged to be fixed.
            log.exception("otel span could not be mapped")
            batch.rejected.append(f"{where(view)}: could not be mapped ({UNMAPPABLE})")
            continue
        if mapped is None:
            batch.skipped += 1
            continue
        batch.stored += 1
        if conversation == view.trace_id and view.trace_id not in by_trace:
            batch.orphans.add(view.trace_id)
        pk = partition_key(facts.tenant_id, conversation)
        for item in mapped:
            key = (pk, item.record["id"])
            earlier = batch.records.get(key)
            # A completion wins over the same message carried as history by another span.
            if earlier is None or (earlier.history and not item.history):
                batch.records[key] = item
        if len(batch.records) > MAX_RECORDS:
            raise PayloadTooLarge(
                f"Request would create more than {MAX_RECORDS:,} records; "
                f"the limit is {MAX_RECORDS:,} records per request"
            )
    return batch


class OtelService:
    def __init__(self, records: RecordStore, traces: TraceMap) -> None:
        self._records = records
        self._traces = traces

    def export_traces(self, request: Any, facts: RequestFacts, deadline: Deadline) -> ExportOutcome:
        batch = map_spans(
            request,
            facts,
            lambda trace_ids: self._traces.lookup(facts.tenant_id, trace_ids, deadline),
        )
        stored = self._store(batch, facts.tenant_id, deadline)
        for trace, conversation in batch.adopted.items():
            self._move(facts.tenant_id, trace, conversation, deadline)
        # An orphan's link is its own id: the request naming its conversation moves its records.
        links = {**{trace: trace for trace in batch.orphans}, **batch.links}
        self._traces.remember(facts.tenant_id, links, deadline)
        outcome = ExportOutcome(
            sent=batch.sent,
            stored=batch.stored,
            skipped=batch.skipped,
            rejected=len(batch.rejected),
            records=stored,
            message=_message(batch),
        )
        log.info(
            "otel traces",
            extra={
                "spans": outcome.sent,
                "stored_spans": outcome.stored,
                "skipped_spans": outcome.skipped,
                "rejected_spans": outcome.rejected,
                "records": outcome.records,
            },
        )
        return outcome

    def _store(self, batch: MappedBatch, tenant_id: str, deadline: Deadline) -> int:
        keys = list(batch.records)
        existing = self._records.existing_order_keys(keys, deadline) if keys else {}
        prepared: list[PreparedRecord] = []
        # New records tie-break equal timestamps by their place in the conversation.
        ranked = sorted(batch.records.items(), key=lambda entry: entry[1].order)
        for seq, (key, item) in enumerate(ranked):
            record = item.record
            order = existing.get(key)
            if order is not None:
                if item.history:  # stored already, perhaps with the tokens of its completion
                    continue
                # Rewritten in place: the record keeps its position in the conversation.
                timestamp, stored_ns, stored_seq = order.split("#")
                record["timestamp"] = timestamp
                prepared.append(
                    RecordStore.prepare(tenant_id, record, int(stored_ns), int(stored_seq))
                )
            else:
                # The span's own time in ns orders records within one stored millisecond.
                prepared.append(RecordStore.prepare(tenant_id, record, item.order[0], seq))
        self._records.put(prepared, deadline)
        return len(prepared)

    def _move(self, tenant_id: str, trace: str, conversation: str, deadline: Deadline) -> None:
        """Moves what was stored under a trace id to the conversation the trace's root names.
        Safe to repeat: a failed move is finished by the exporter's retry (the link still says
        the trace id until the move is done)."""
        items = self._records.partition(tenant_id, trace, deadline)
        moved: dict[tuple[str, str], PreparedRecord] = {}
        for item in items:
            record = rehomed(tenant_id, json.loads(stored_text(item)[0]), conversation)
            _, stored_ns, stored_seq = item["ok"]["S"].split("#")  # keeps its place in the order
            prepared = RecordStore.prepare(tenant_id, record, int(stored_ns), int(stored_seq))
            moved[(prepared.item["pk"]["S"], record["id"])] = prepared
        existing = self._records.existing_order_keys(list(moved), deadline) if moved else {}
        # What the conversation already holds (sent again since) stays as it is.
        self._records.put([p for key, p in moved.items() if key not in existing], deadline)
        self._records.delete([{"pk": i["pk"], "sk": i["sk"]} for i in items], deadline)
        log.info("otel trace moved", extra={"records": len(items)})


def _message(batch: MappedBatch) -> str:
    parts: list[str] = []
    if batch.rejected:
        shown = "; ".join(batch.rejected[:5])
        more = f" (and {len(batch.rejected) - 5} more)" if len(batch.rejected) > 5 else ""
        parts.append(f"{len(batch.rejected)} span(s) refused: {shown}{more}")
    if batch.skipped:
        parts.append(f"{batch.skipped} span(s) carried no GenAI data and were skipped")
    return ". ".join(parts)
