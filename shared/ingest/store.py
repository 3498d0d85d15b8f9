"""Records in DynamoDB.

Item layout (RecordsTable in template.yaml):
  pk  "<tenant>#<conversation_id>"   partition: a tenant's conversation, so tenants never mix
  sk  record id                      deterministic, so a resend overwrites instead of duplicating
  ok  "<timestamp>#<received ns>#<seq>"  LSI `by_order` sort key: timestamp, then send order
                                     (it holds keys + env, or all: RecordsIndexProjection)
  env environment                    for `?environment=` filtering
  rec the record as JSON, compressed  nested client JSON stays exact (no float→Decimal); binary
                                     since the cost work, a string before (shared/ingest/codec.py)
  exp when it expires (epoch s)      only with a retention (RecordsRetentionDays): DynamoDB's TTL
                                     deletes it that many days after the record's last write

Reading never fails on what is stored: an item whose `rec` does not decode to a JSON object
(written by hand, by an older version, or cut short) is listed as its id, conversation id and
raw text under `undecodable: true` (`undecodable_record`), never a 500 for the whole page.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic_core

from shared.dynamo import (
    BATCH_GET_SIZE,
    Deadline,
    DynamoDBClient,
    Item,
    ParallelBatchWriter,
    batch_get,
    call_with_retry,
)
from shared.ingest import codec
from shared.ingest.records import Record
from shared.ingest.views import undecodable_record

MAX_RECORD_BYTES = 350_000  # DynamoDB's item limit is 400 KB; keys and attributes need the rest
# A page of records stops here even below `limit`: Lambda answers at most 6 MB.
MAX_PAGE_BYTES = 4_500_000
ORDER_INDEX = "by_order"
_DAY_SECONDS = 86_400
Items = list[Item]  # spelled here: inside RecordStore, `list` is its method


@dataclass(slots=True)
class PreparedRecord:
    item: Item
    size: int


def partition_key(tenant_id: str, conversation_id: str) -> str:
    return f"{tenant_id}#{conversation_id}"


class RecordStore:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        writer: ParallelBatchWriter,
        retention_days: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`retention_days`: how long a record stays after its last write; 0, for ever."""
        self._client = client
        self._table = table
        self._writer = writer
        self._retention_seconds = retention_days * _DAY_SECONDS
        self._clock = clock

    @staticmethod
    def prepare(tenant_id: str, record: Record, received_ns: int, seq: int) -> PreparedRecord:
        """`seq` is the record's position in its request; `received_ns` orders the requests."""
        return RecordStore.preparer(tenant_id, received_ns)(record, seq)

    @staticmethod
    def preparer(
        tenant_id: str,
        received_ns: int,
        to_json: Callable[[Record], bytes] = pydantic_core.to_json,
    ) -> Callable[[Record, int], PreparedRecord]:
        """`prepare` for the records of one request: what they share is formatted once.
        `to_json` writes `rec` (the ingest pipeline's is quicker, for checked bodies only)."""
        pk_prefix = partition_key(tenant_id, "")
        order_infix = f"#{received_ns:020d}#"

        def prepare(record: Record, seq: int) -> PreparedRecord:
            encoded = to_json(record)
            item = {
                "pk": {"S": pk_prefix + record["conversation_id"]},
                "sk": {"S": record["id"]},
                "ok": {"S": f"{record['timestamp']}{order_infix}{seq:06d}"},
                "env": {"S": record["environment"]},
                "rec": codec.encode(encoded),
            }
            # the JSON's size: the per-record limit is on the record, however it is stored
            return PreparedRecord(item, len(encoded))

        return prepare

    def put(self, prepared: list[PreparedRecord], deadline: Deadline) -> None:
        # Two events with the same id in one request: the later one wins, as if sent in turn
        # (BatchWriteItem refuses duplicate keys in one call).
        unique = {(p.item["pk"]["S"], p.item["sk"]["S"]): p.item for p in prepared}
        if self._retention_seconds:
            expiry = {"exp": {"N": str(int(self._clock()) + self._retention_seconds)}}
            unique = {key: item | expiry for key, item in unique.items()}
        # Conversation summaries follow from the table's stream (shared/ingest/summaries.py):
        # the request path makes no summary calls.
        self._writer.put_items(self._table, list(unique.values()), deadline)

    def existing_order_keys(
        self, keys: list[tuple[str, str]], deadline: Deadline
    ) -> dict[tuple[str, str], str]:
        """The order key (`ok`) of each stored record among (partition key, record id) pairs."""
        found: dict[tuple[str, str], str] = {}
        for item in batch_get(self._client, self._table, keys, ("pk", "sk", "ok"), deadline):
            found[(item["pk"]["S"], item["sk"]["S"])] = item["ok"]["S"]
        return found

    def partition(self, tenant_id: str, conversation_id: str, deadline: Deadline) -> list[Item]:
        """Every stored item of a conversation, as stored (moving a conversation's records)."""
        pk = partition_key(tenant_id, conversation_id)
        items: list[Item] = []
        start: Item | None = None
        while True:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
            }
            if start:
                query["ExclusiveStartKey"] = start
            page = call_with_retry(lambda: self._client.query(**query), deadline)  # noqa: B023
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    def put_items(self, items: list[Item], deadline: Deadline) -> None:
        self._writer.put_items(self._table, items, deadline)

    def delete(self, keys: list[Item], deadline: Deadline) -> None:
        self._writer.delete_keys(self._table, keys, deadline)

    def list(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        limit: int,
        cursor: str | None,
        environment: str | None,
        deadline: Deadline,
    ) -> tuple[list[Record], str | None]:
        # Imported here: only the records function lists, and the ingest functions' cold start
        # need not load cursors (and the query parameters it reads).
        from shared import cursors

        pk = partition_key(tenant_id, conversation_id)
        scope = ("records", tenant_id, conversation_id, environment or "")
        start = _decode_cursor(cursor, pk, scope) if cursor else None
        records: list[Record] = []
        last_key: Item | None = None
        page_bytes = 0
        while len(records) < limit:
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": ORDER_INDEX,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "Limit": limit - len(records),
            }
            if environment:
                query["FilterExpression"] = "env = :env"
                query["ExpressionAttributeValues"][":env"] = {"S": environment}
            if start:
                query["ExclusiveStartKey"] = start
            page = call_with_retry(lambda: self._client.query(**query), deadline)  # noqa: B023
            index_items = page.get("Items", [])
            # Records fetched 100 at a time, so a page that stops at MAX_PAGE_BYTES never
            # holds more than one fetch past it in memory.
            for chunk in range(0, len(index_items), BATCH_GET_SIZE):
                chunk_items = index_items[chunk : chunk + BATCH_GET_SIZE]
                for item in self._with_records(chunk_items, deadline):
                    text, is_record_text = stored_text(item)
                    page_bytes += len(text)
                    if last_key is not None and page_bytes > MAX_PAGE_BYTES:
                        return records, cursors.seal_key(last_key, _POSITION, scope)
                    records.append(read_record(item, text, is_record_text))
                    last_key = {k: item[k] for k in ("pk", "sk", "ok")}
            start = page.get("LastEvaluatedKey")
            if not start:
                return records, None
        return records, cursors.seal_key(last_key, _POSITION, scope) if last_key else None

    def _with_records(self, index_items: Items, deadline: Deadline) -> Items:
        """The index's items in its order, each with its record. An index holding keys only
        (RecordsIndexProjection KEYS) leaves `rec` in the table: one BatchGetItem per 100.
        A record gone between the two reads (moved to another conversation) is skipped."""
        keys = [(i["pk"]["S"], i["sk"]["S"]) for i in index_items if "rec" not in i]
        if not keys:
            return index_items
        found = batch_get(self._client, self._table, keys, ("pk", "sk", "rec"), deadline)
        records = {(i["pk"]["S"], i["sk"]["S"]): i["rec"] for i in found}
        complete: Items = []
        for item in index_items:
            if "rec" not in item:
                rec = records.get((item["pk"]["S"], item["sk"]["S"]))
                if rec is None:
                    continue
                item = {**item, "rec": rec}
            complete.append(item)
        return complete


def stored_text(item: Item) -> tuple[str, bool]:
    """The item's record JSON (either stored form) and True; or, when `rec` is neither form,
    the attribute as JSON (binary as base64) and False, for the undecodable stand-in."""
    text = codec.record_text(item.get("rec"))
    if text is not None:
        return text, True
    rec = item.get("rec")
    if isinstance(rec, dict) and isinstance(packed := rec.get("B"), bytes):
        rec = {"B": base64.b64encode(packed).decode()}  # as DynamoDB's JSON shows binary
    return pydantic_core.to_json(rec, fallback=repr).decode(), False


def read_record(item: Item, text: str, is_record_text: bool) -> Record:
    """The stored record; an undecodable one as `undecodable_record`."""
    value = None
    if is_record_text:  # anything else was never a record's text
        # ValueError: not JSON, cut short, or nested past the parser's limit
        with contextlib.suppress(ValueError):
            value = pydantic_core.from_json(text)
    if isinstance(value, dict):
        return value
    return undecodable_record(item, text)


# A page's position in the order index; the partition key comes from the request. Signed for
# this listing only: never another tenant's, conversation's or filter's.
_POSITION = ("sk", "ok")


def _decode_cursor(cursor: str, pk: str, scope: tuple[str, ...]) -> Item:
    from shared import cursors

    return {"pk": {"S": pk}, **cursors.open_key(cursor, _POSITION, scope)}
