"""The conversations' writes: every create and append is one TransactWriteItems.

A create puts META (attribute_not_exists), its message items and, with a key, the key's claim
(claims.py); an append updates META on `version = :expected` and puts its new message items,
so a stale writer fails as a whole and nothing half-written is ever visible. An append also
fails once its token is among META's `fences` (fencing.py), and clears `fences`.
"""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation
from shared.conversations.store.items import (
    META,
    Chunk,
    conversation_key,
    heading_of,
    json_attr,
    message_key,
    meta_item,
    n,
    s,
)
from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry

_RETRYABLE_CANCEL_CODES = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def create_actions(
    table: str, tenant: str, conversation: Conversation, chunks: list[Chunk]
) -> list[Any]:
    """The conversation's META and message items, each put only if new."""
    pk = conversation_key(tenant, conversation.id)
    return [
        {
            "Put": {
                "TableName": table,
                "Item": meta_item(tenant, conversation),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        *chunk_puts(table, pk, chunks),
    ]


def append_actions(
    table: str,
    tenant: str,
    conversation: Conversation,
    expected_version: int,
    token: str,
    chunks: list[Chunk],
) -> list[Any]:
    """META moved to `conversation` (only from `expected_version`, only if `token` is not
    fenced) and the new message items, marked with `token`."""
    pk = conversation_key(tenant, conversation.id)
    heading = heading_of(conversation)
    values = {":heading": s(heading)} if heading is not None else {}
    update = {
        "Update": {
            "TableName": table,
            "Key": {"pk": s(pk), "sk": s(META)},
            "UpdateExpression": (
                "SET version = :version, #status = :status, updated_at = :updated, "
                "message_count = :count, content_bytes = :content, stored_bytes = :stored, "
                "metadata = :metadata, doc = :doc"
                + (", heading = :heading" if heading is not None else "")
                + " REMOVE fences"
            ),
            "ConditionExpression": (
                "version = :expected "
                "AND (attribute_not_exists(fences) OR NOT contains(fences, :token))"
            ),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":version": n(conversation.version),
                ":status": s(conversation.status),
                ":updated": s(conversation.updated_at),
                ":count": n(conversation.message_count),
                ":content": n(conversation.content_bytes),
                ":stored": n(conversation.stored_bytes),
                ":metadata": json_attr(conversation.metadata),
                ":doc": json_attr(conversation.attributes),
                ":token": s(token),
                ":expected": n(expected_version),
                **values,
            },
        }
    }
    return [update, *chunk_puts(table, pk, chunks, token)]


def chunk_puts(table: str, pk: str, chunks: list[Chunk], token: str | None = None) -> list[Any]:
    puts = []
    for chunk in chunks:
        item: Item = {
            "pk": s(pk),
            "sk": s(message_key(chunk.first)),
            "msgs": s(chunk.msgs),
            "text": s(chunk.text),
        }
        if token is not None:
            item["write_token"] = s(token)
        puts.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    return puts


def transact(client: DynamoDBClient, actions: list[Any], deadline: Deadline) -> list[str] | None:
    """Run one transaction: None when committed, else the cancellation reason codes (in
    action order) of a failed condition. Conflicts with other transactions and throttling
    are retried until the deadline (a retry of a committed write fails its condition)."""
    attempt = 0
    while True:
        try:
            call_with_retry(lambda: client.transact_write_items(TransactItems=actions), deadline)
            return None
        except client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            codes = [str(r.get("Code", "None")) for r in reasons]
            if "ConditionalCheckFailed" in codes:
                return codes
            if not set(codes) & _RETRYABLE_CANCEL_CODES:
                raise
        deadline.sleep_before_retry(attempt)
        attempt += 1
