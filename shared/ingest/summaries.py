"""Per-conversation summaries of stored records: what the console's conversation list reads.

Item layout (ConversationSummariesTable in template.yaml):
  pk   "<tenant>#<conversation_id>"         one item per conversation
  gpk  tenant                               GSI `by_activity` partition: a tenant's list
  gsk  "<last write time>#<conversation_id>"  GSI sort key: newest activity first, time ranges
  cid, env (last environment written), src (string set of message sources),
  n (records written), first (first write time), last (last write time)

One UpdateItem per (tenant, conversation) per request, after the records are stored, so a
listed conversation always has records. `n` counts record writes: a resend without an
Idempotency-Key counts again (the records themselves are overwritten, never duplicated).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry
from shared.errors import BadRequest
from shared.fields import format_timestamp

if TYPE_CHECKING:
    from shared.ingest.store import PreparedRecord

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversationId": self.conversation_id,
            "environment": self.environment,
            "sources": self.sources,
            "recordCount": self.records,
            "firstActivityAt": self.first_activity,
            "lastActivityAt": self.last_activity,
        }


@dataclass(frozen=True)
class SummaryFilter:
    environment: str | None = None
    source: str | None = None
    since: str | None = None  # inclusive, a timestamp prefix (`2026-01-01` or a full time)
    until: str | None = None  # inclusive


class SummaryStore:
    def __init__(self, client: DynamoDBClient, table: str, concurrency: int) -> None:
        self._client = client
        self._table = table
        self._concurrency = concurrency
        self._executor: ThreadPoolExecutor | None = None

    def touch(self, prepared: Sequence[PreparedRecord], deadline: Deadline) -> None:
        """Update the summary of every conversation these records belong to."""
        now = format_timestamp(datetime.now(UTC))
        grouped: dict[str, tuple[str, set[str], int]] = {}
        for record in prepared:
            pk = record.item["pk"]["S"]
            _, sources, count = grouped.get(pk, ("", set(), 0))
            sources.add(record.source)
            grouped[pk] = (record.item["env"]["S"], sources, count + 1)
        updates = [(pk, env, sources, n, now) for pk, (env, sources, n) in grouped.items()]
        if len(updates) <= 1:
            for update in updates:
                self._update(*update, deadline)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._concurrency, thread_name_prefix="summary")
        futures = [self._executor.submit(self._update, *u, deadline) for u in updates]
        for future in futures:
            future.result()  # the first failure raises (StorageUnavailable: a retryable 503)

    def _update(
        self, pk: str, env: str, sources: set[str], count: int, now: str, deadline: Deadline
    ) -> None:
        tenant, conversation_id = pk.split("#", 1)  # tenants never hold '#'
        call_with_retry(
            lambda: self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                UpdateExpression=(
                    "SET gpk = :t, gsk = :g, cid = :c, env = :e, #last = :now, "
                    "#first = if_not_exists(#first, :now) ADD n :n, src :s"
                ),
                ExpressionAttributeNames={"#first": "first", "#last": "last"},
                ExpressionAttributeValues={
                    ":t": {"S": tenant},
                    ":g": {"S": f"{now}#{conversation_id}"},
                    ":c": {"S": conversation_id},
                    ":e": {"S": env},
                    ":now": {"S": now},
                    ":n": {"N": str(count)},
                    ":s": {"SS": sorted(sources)},
                },
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
        start = _decode_cursor(cursor, tenant_id) if cursor else None
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
        return found, _encode_cursor(start) if start else None


def _summary(item: Item) -> ConversationSummary:
    return ConversationSummary(
        conversation_id=item["cid"]["S"],
        environment=item["env"]["S"],
        sources=sorted(item["src"]["SS"]),
        records=int(item["n"]["N"]),
        first_activity=item["first"]["S"],
        last_activity=item["last"]["S"],
    )


def _encode_cursor(key: Item) -> str:
    plain = {name: value["S"] for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode()


def _decode_cursor(cursor: str, tenant_id: str) -> Item:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        key = {name: {"S": value} for name, value in plain.items() if isinstance(value, str)}
    except (ValueError, binascii.Error, AttributeError) as exc:
        raise BadRequest("cursor is not a cursor this API returned") from exc
    # A cursor is only ever another page of the same tenant's list.
    if set(key) != {"pk", "gpk", "gsk"} or key["gpk"]["S"] != tenant_id:
        raise BadRequest("cursor is not a cursor this API returned")
    return key
