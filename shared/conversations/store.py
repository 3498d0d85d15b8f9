"""Conversations in DynamoDB (ConversationsTable in template.yaml).

Items, all under pk "<tenant>#<conversation id>" so a tenant only ever reads its own:
  sk "META"         one per conversation: status, counts and sizes, version, metadata, the
                    descriptive fields (`doc`), the `insights` slot; gpk/gsk (tenant, id) put it
                    in the sparse GSI `by_tenant` that lists a tenant's conversations by id
  sk "MSG#<nnnn>"   the messages of one append (split when large), nnnn = index of its first
                    message: `msgs` (JSON array), `text` (their rendering) and, for an append,
                    `write_token` (the token marking that append's write)
Idempotency keys of creates live in the same table, pk "<tenant>#idem#<key>", sk "IDEM", so a
create and its key claim are one transaction. Agents named by `agentName` get a stable id,
pk "<tenant>#agent#<name>", sk "AGENT". META carries `analyzable` (true) when the conversation is
linked to a prompt or agent: the insights worker's stream filter matches on it.
`expires_at` is DynamoDB TTL (cleanup only).

Every write is a TransactWriteItems: a create puts META (attribute_not_exists), its message
items and the key claim; an append updates META on `version = :expected` and puts its new
message items, so a stale writer fails as a whole and nothing half-written is ever visible.

An append whose outcome is unknown (its answer lost, then time ran out) is fenced before the
client is told to retry: its token joins META's `fences` while the conversation is still at the
version the write expected, and an append never applies once its token is there. A write still
in flight (in the network, or queued in storage) then fails its condition instead of storing
the messages a second time after the client resent them. Any append clears `fences` (a fence
only matters while the version it was taken at is current).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic_core

from shared.conversations.models import (
    Conversation,
    ConversationSummary,
    ListFilters,
    is_analyzable,
)
from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry

META = "META"
IDEM = "IDEM"
AGENT = "AGENT"
TENANT_INDEX = "by_tenant"
MAX_CHUNK_BYTES = 350_000  # DynamoDB items stop at 400 KB
_LIST_ATTRIBUTES = "pk, sk, gpk, gsk, prompt_id, #status, has_insights, created_at"
_RETRYABLE_CANCEL_CODES = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def conversation_key(tenant: str, conversation_id: str) -> str:
    return f"{tenant}#{conversation_id}"


def _message_key(first_index: int) -> str:
    return f"MSG#{first_index:04d}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _json(value: Any) -> dict[str, str]:
    # Client JSON stays exact as a string (DynamoDB maps would turn floats into Decimals).
    return {"S": pydantic_core.to_json(value).decode()}


@dataclass(frozen=True)
class Chunk:
    """Message items of one write: (first message index, JSON array text, rendering)."""

    first: int
    msgs: str
    text: str


def chunk_messages(first_index: int, encoded: list[str], lines: list[str]) -> list[Chunk]:
    """Split one append's messages into items of at most MAX_CHUNK_BYTES."""
    chunks: list[Chunk] = []
    start, size = 0, 0
    for i, text in enumerate(encoded):
        length = len(text.encode()) + len(lines[i].encode()) + 2
        if i > start and size + length > MAX_CHUNK_BYTES:
            chunks.append(_chunk(first_index + start, encoded[start:i], lines[start:i]))
            start, size = i, 0
        size += length
    if start < len(encoded):
        chunks.append(_chunk(first_index + start, encoded[start:], lines[start:]))
    return chunks


def _chunk(first: int, encoded: list[str], lines: list[str]) -> Chunk:
    return Chunk(first, "[" + ",".join(encoded) + "]", "\n".join(lines))


@dataclass(frozen=True)
class IdempotencyClaim:
    key: str
    body_hash: str
    expires_at: int  # epoch seconds


@dataclass(frozen=True)
class ClaimedKey:
    conversation_id: str
    body_hash: str
    expires_at: int


class ConversationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # --- writes ---------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        conversation: Conversation,
        chunks: list[Chunk],
        claim: IdempotencyClaim | None,
        now_epoch: int,
        deadline: Deadline,
    ) -> str | None:
        """Store a new conversation (and claim its key). None when stored; "exists" when the
        conversation is already there (an earlier attempt of this call committed); "claimed"
        when the key is held by another, unexpired create."""
        pk = conversation_key(tenant, conversation.id)
        actions: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._meta_item(tenant, conversation),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            *self._chunk_puts(pk, chunks),
        ]
        if claim is not None:
            actions.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            "pk": _s(self._idem_key(tenant, claim.key)),
                            "sk": _s(IDEM),
                            "conversation_id": _s(conversation.id),
                            "body_hash": _s(claim.body_hash),
                            "expires_at": _n(claim.expires_at),
                        },
                        # Expiry is decided here, by the service's clock: TTL deletes late.
                        "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                        "ExpressionAttributeValues": {":now": _n(now_epoch)},
                    }
                }
            )
        failed = self._transact(actions, deadline)
        if failed is None:
            return None
        if failed[0] == "ConditionalCheckFailed":
            return "exists"
        return "claimed"

    def append(
        self,
        tenant: str,
        conversation: Conversation,
        expected_version: int,
        token: str,
        chunks: list[Chunk],
        deadline: Deadline,
    ) -> bool:
        """Apply an append if the conversation is still at `expected_version`; False if another
        writer got there first. `token` marks the write, so a retry can tell it committed."""
        pk = conversation_key(tenant, conversation.id)
        update = {
            "Update": {
                "TableName": self._table,
                "Key": {"pk": _s(pk), "sk": _s(META)},
                "UpdateExpression": (
                    "SET version = :version, #status = :status, updated_at = :updated, "
                    "message_count = :count, content_bytes = :content, stored_bytes = :stored, "
                    "metadata = :metadata, doc = :doc REMOVE fences"
                ),
                "ConditionExpression": (
                    "version = :expected "
                    "AND (attribute_not_exists(fences) OR NOT contains(fences, :token))"
                ),
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":version": _n(conversation.version),
                    ":status": _s(conversation.status),
                    ":updated": _s(conversation.updated_at),
                    ":count": _n(conversation.message_count),
                    ":content": _n(conversation.content_bytes),
                    ":stored": _n(conversation.stored_bytes),
                    ":metadata": _json(conversation.metadata),
                    ":doc": _json(conversation.attributes),
                    ":token": _s(token),
                    ":expected": _n(expected_version),
                },
            }
        }
        return self._transact([update, *self._chunk_puts(pk, chunks, token)], deadline) is None

    def fence(
        self,
        tenant: str,
        conversation_id: str,
        expected_version: int,
        token: str,
        deadline: Deadline,
    ) -> bool:
        """Make sure the append marked `token`, written against `expected_version`, can no
        longer apply. True: fenced while the conversation was still at that version, so that
        write is not stored and never will be. False: the conversation has moved on (that write,
        or another, committed): `write_outcome` tells which."""
        client = self._client
        try:
            call_with_retry(
                lambda: client.update_item(
                    TableName=self._table,
                    Key={"pk": _s(conversation_key(tenant, conversation_id)), "sk": _s(META)},
                    UpdateExpression="ADD fences :token",
                    ConditionExpression="version = :expected",
                    ExpressionAttributeValues={
                        ":token": {"SS": [token]},
                        ":expected": _n(expected_version),
                    },
                ),
                deadline,
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def write_outcome(
        self,
        tenant: str,
        conversation_id: str,
        expected_version: int,
        first_index: int,
        token: str,
        deadline: Deadline,
    ) -> bool | None:
        """What became of the append marked `token`, written against `expected_version` with its
        first message at `first_index`: True stored; False not stored and never will be (fenced,
        or the conversation moved on without it); None still open (it may yet apply)."""
        pk = _s(conversation_key(tenant, conversation_id))
        # META first: once it has moved past the expected version, that write's first message
        # item is either there by now or never will be (one writer per index).
        meta = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table,
                Key={"pk": pk, "sk": _s(META)},
                ProjectionExpression="version, fences",
                ConsistentRead=True,
            ),
            deadline,
        ).get("Item")
        if meta is not None and int(meta["version"]["N"]) == expected_version:
            return False if token in meta.get("fences", {}).get("SS", []) else None
        first = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table,
                Key={"pk": pk, "sk": _s(_message_key(first_index))},
                ProjectionExpression="write_token",
                ConsistentRead=True,
            ),
            deadline,
        ).get("Item")
        return first is not None and first.get("write_token", {}).get("S") == token

    def save_insights(
        self, tenant: str, conversation_id: str, insights: dict[str, Any], deadline: Deadline
    ) -> bool:
        """Store a completed conversation's insights, once: False when some are already there
        (a redelivered or replayed stream record) or the conversation is gone."""
        return self._update_once(
            tenant,
            conversation_id,
            "SET insights = :insights, has_insights = :true REMOVE insights_failure",
            {":insights": _json(insights), ":true": {"BOOL": True}},
            deadline,
        )

    def save_insights_failure(
        self, tenant: str, conversation_id: str, reason: str, deadline: Deadline
    ) -> bool:
        """Record that analysis failed for good (unless insights exist after all)."""
        return self._update_once(
            tenant,
            conversation_id,
            "SET insights_failure = :reason",
            {":reason": _s(reason)},
            deadline,
        )

    def _update_once(
        self,
        tenant: str,
        conversation_id: str,
        update: str,
        values: dict[str, Any],
        deadline: Deadline,
    ) -> bool:
        client = self._client
        try:
            call_with_retry(
                lambda: client.update_item(
                    TableName=self._table,
                    Key={"pk": _s(conversation_key(tenant, conversation_id)), "sk": _s(META)},
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(pk) AND attribute_not_exists(insights)",
                    ExpressionAttributeValues=values,
                ),
                deadline,
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def agent_id(self, tenant: str, name: str, new_id: str, deadline: Deadline) -> str:
        """The tenant's id for the agent `name`: `new_id` if this is its first use."""
        key = {"pk": _s(f"{tenant}#agent#{name}"), "sk": _s(AGENT)}
        client = self._client
        try:
            call_with_retry(
                lambda: client.put_item(
                    TableName=self._table,
                    Item={**key, "agent_id": _s(new_id), "name": _s(name)},
                    ConditionExpression="attribute_not_exists(pk)",
                ),
                deadline,
            )
            return new_id
        except client.exceptions.ConditionalCheckFailedException:
            pass
        item = call_with_retry(
            lambda: client.get_item(TableName=self._table, Key=key, ConsistentRead=True), deadline
        )["Item"]
        return item["agent_id"]["S"]

    def _chunk_puts(self, pk: str, chunks: list[Chunk], token: str | None = None) -> list[Any]:
        puts = []
        for chunk in chunks:
            item: Item = {
                "pk": _s(pk),
                "sk": _s(_message_key(chunk.first)),
                "msgs": _s(chunk.msgs),
                "text": _s(chunk.text),
            }
            if token is not None:
                item["write_token"] = _s(token)
            puts.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        return puts

    def _transact(self, actions: list[Any], deadline: Deadline) -> list[str] | None:
        """Run one transaction: None when committed, else the cancellation reason codes (in
        action order) of a failed condition. Conflicts with other transactions and throttling
        are retried until the deadline (a retry of a committed write fails its condition)."""
        attempt = 0
        while True:
            try:
                call_with_retry(
                    lambda: self._client.transact_write_items(TransactItems=actions), deadline
                )
                return None
            except self._client.exceptions.TransactionCanceledException as exc:
                reasons = exc.response.get("CancellationReasons", [])
                codes = [str(r.get("Code", "None")) for r in reasons]
                if "ConditionalCheckFailed" in codes:
                    return codes
                if not set(codes) & _RETRYABLE_CANCEL_CODES:
                    raise
            deadline.sleep_before_retry(attempt)
            attempt += 1

    # --- reads ----------------------------------------------------------------------------

    def load(self, tenant: str, conversation_id: str, deadline: Deadline) -> Conversation | None:
        """The conversation with every message (one consistent query), None if there is none
        for this tenant."""
        pk = conversation_key(tenant, conversation_id)
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(pk)},
            "ConsistentRead": True,
        }
        meta: Item | None = None
        chunks: list[Item] = []
        while True:
            page = call_with_retry(lambda: self._client.query(**query), deadline)
            for item in page.get("Items", []):
                if item["sk"]["S"] == META:
                    meta = item
                else:
                    chunks.append(item)
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if meta is None:
            return None
        conversation = self._from_meta(meta)
        chunks.sort(key=lambda item: item["sk"]["S"])
        messages: list[dict[str, Any]] = []
        for item in chunks:
            messages += pydantic_core.from_json(item["msgs"]["S"])
        conversation.messages = messages
        conversation.content = "\n".join(item["text"]["S"] for item in chunks)
        conversation.writes = frozenset(
            item["write_token"]["S"] for item in chunks if "write_token" in item
        )
        return conversation

    def load_summary(
        self, tenant: str, conversation_id: str, deadline: Deadline
    ) -> Conversation | None:
        """META only (no messages): status, fields, insights."""
        response = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table,
                Key={"pk": _s(conversation_key(tenant, conversation_id)), "sk": _s(META)},
                ConsistentRead=True,
            ),
            deadline,
        )
        item = response.get("Item")
        return self._from_meta(item) if item else None

    def claimed_key(self, tenant: str, key: str, deadline: Deadline) -> ClaimedKey | None:
        response = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table,
                Key={"pk": _s(self._idem_key(tenant, key)), "sk": _s(IDEM)},
                ConsistentRead=True,
            ),
            deadline,
        )
        item = response.get("Item")
        if not item:
            return None
        return ClaimedKey(
            conversation_id=item["conversation_id"]["S"],
            body_hash=item["body_hash"]["S"],
            expires_at=int(item["expires_at"]["N"]),
        )

    def list(
        self,
        tenant: str,
        filters: ListFilters,
        *,
        offset: int,
        limit: int,
        after: str | None,
        deadline: Deadline,
    ) -> tuple[list[ConversationSummary], bool]:
        """Newest first: skip `offset` matches (after the id `after`, if given), then up to
        `limit`; and whether more match."""
        wanted = offset + limit + 1  # one more tells whether there is a next page
        query = self._tenant_query(tenant, filters, after)
        query["ProjectionExpression"] = _LIST_ATTRIBUTES
        query.setdefault("ExpressionAttributeNames", {})["#status"] = "status"
        found: list[Item] = []
        while len(found) < wanted:
            query["Limit"] = max(wanted - len(found), 25)
            page = call_with_retry(lambda: self._client.query(**query), deadline)
            found += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        selected = found[offset : offset + limit]
        return [self._summary(item) for item in selected], len(found) > offset + limit

    def count(self, tenant: str, filters: ListFilters, deadline: Deadline) -> int:
        """Exact number of the tenant's conversations matching `filters` (reads its index)."""
        query = self._tenant_query(tenant, filters, None)
        query["Select"] = "COUNT"
        total = 0
        while True:
            page = call_with_retry(lambda: self._client.query(**query), deadline)
            total += int(page.get("Count", 0))
            if "LastEvaluatedKey" not in page:
                return total
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _tenant_query(self, tenant: str, filters: ListFilters, after: str | None) -> dict[str, Any]:
        condition = "gpk = :tenant"
        values: dict[str, Any] = {":tenant": _s(tenant)}
        names: dict[str, str] = {}
        if after is not None:
            condition += " AND gsk < :after"
            values[":after"] = _s(after)
        clauses = []
        if filters.prompt_id is not None:
            clauses.append("prompt_id = :prompt")
            values[":prompt"] = _s(filters.prompt_id)
        if filters.status is not None:
            clauses.append("#status = :status")
            values[":status"] = _s(filters.status)
            names["#status"] = "status"
        if filters.has_insights is not None:
            clauses.append("has_insights = :insights")
            values[":insights"] = {"BOOL": filters.has_insights}
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": TENANT_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,  # ids sort by creation time: newest first
        }
        if clauses:
            query["FilterExpression"] = " AND ".join(clauses)
        if names:
            query["ExpressionAttributeNames"] = names
        return query

    # --- item shapes ----------------------------------------------------------------------

    @staticmethod
    def _idem_key(tenant: str, key: str) -> str:
        return f"{tenant}#idem#{key}"

    @staticmethod
    def _meta_item(tenant: str, conversation: Conversation) -> Item:
        item: Item = {
            "pk": _s(conversation_key(tenant, conversation.id)),
            "sk": _s(META),
            "gpk": _s(tenant),
            "gsk": _s(conversation.id),
            "status": _s(conversation.status),
            "created_status": _s(conversation.created_status),
            "created_at": _s(conversation.created_at),
            "updated_at": _s(conversation.updated_at),
            "version": _n(conversation.version),
            "message_count": _n(conversation.message_count),
            "content_bytes": _n(conversation.content_bytes),
            "stored_bytes": _n(conversation.stored_bytes),
            "has_insights": {"BOOL": conversation.has_insights},
            "doc": _json(conversation.attributes),
            "metadata": _json(conversation.metadata),
        }
        if conversation.prompt_id is not None:
            item["prompt_id"] = _s(conversation.prompt_id)
        if is_analyzable(conversation.prompt_id, conversation.attributes):
            item["analyzable"] = {"BOOL": True}
        return item

    @staticmethod
    def _from_meta(item: Item) -> Conversation:
        return Conversation(
            id=item["gsk"]["S"],
            status=item["status"]["S"],
            created_status=item["created_status"]["S"],
            created_at=item["created_at"]["S"],
            updated_at=item["updated_at"]["S"],
            prompt_id=item["prompt_id"]["S"] if "prompt_id" in item else None,
            attributes=json.loads(item["doc"]["S"]),
            metadata=json.loads(item["metadata"]["S"]),
            message_count=int(item["message_count"]["N"]),
            content_bytes=int(item["content_bytes"]["N"]),
            stored_bytes=int(item["stored_bytes"]["N"]),
            version=int(item["version"]["N"]),
            has_insights=item["has_insights"]["BOOL"],
            insights=json.loads(item["insights"]["S"]) if "insights" in item else None,
            insights_failure=item["insights_failure"]["S"] if "insights_failure" in item else None,
        )

    @staticmethod
    def _summary(item: Item) -> ConversationSummary:
        """A listed conversation: only what the index projects."""
        return ConversationSummary(
            id=item["gsk"]["S"],
            prompt_id=item["prompt_id"]["S"] if "prompt_id" in item else None,
            status=item["status"]["S"],
            has_insights=item["has_insights"]["BOOL"],
            created_at=item["created_at"]["S"],
        )
