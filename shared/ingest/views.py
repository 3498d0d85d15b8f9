"""The ingest API's answer shapes: the ingest answer, a summary as listed, and the stand-in for
a stored record that cannot be decoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.errors import MAX_LISTED_ERRORS
from shared.logs import get_logger

if TYPE_CHECKING:
    from shared.dynamo import Item
    from shared.ingest.records import Record
    from shared.ingest.service import Batch, IngestPolicy, RequestInfo
    from shared.ingest.summaries import ConversationSummary

log = get_logger("ingest")


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False  # the first answer to the same Idempotency-Key, sent again


def answer(policy: IngestPolicy, batch: Batch, info: RequestInfo) -> Outcome:
    """The 200 (or, with partial success, 207) answer for a stored batch."""
    body: dict[str, Any] = {
        "success": not batch.errors,
        "count": len(batch.prepared),
        "requestId": info.request_id,
    }
    details = policy.details(batch.counts)
    if details is not None:
        body["details"] = details
    log.info(
        "ingested",
        extra={
            "route": policy.route,
            "records": len(batch.prepared),
            "refused": len(batch.errors),
        },
    )
    if not batch.errors:
        return Outcome(200, body)
    body["message"] = f"{len(batch.errors)} event(s) were invalid and not stored"
    body["errors"] = [e.as_dict() for e in batch.errors[:MAX_LISTED_ERRORS]]
    body["retryable"] = False
    return Outcome(207, body)


def summary_view(summary: ConversationSummary) -> dict[str, Any]:
    """One conversation of `GET /v1/conversations`."""
    return {
        "conversationId": summary.conversation_id,
        "environment": summary.environment,
        "sources": summary.sources,
        "recordCount": summary.records,
        "firstActivityAt": summary.first_activity,
        "lastActivityAt": summary.last_activity,
    }


def undecodable_record(item: Item, text: str) -> Record:
    """What the records list shows for an item whose `rec` is not a JSON object: the keys it
    is stored under, the flag, and the stored text as it is (`raw_record`)."""
    conversation_id = item["pk"]["S"].partition("#")[2]
    return {
        "id": item["sk"]["S"],
        "conversation_id": conversation_id,
        "undecodable": True,
        "raw_record": text,
    }
