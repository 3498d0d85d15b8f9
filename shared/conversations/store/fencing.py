"""Settling an append whose outcome is unknown (its answer lost, then time ran out).

Before the client is told to retry, the write is fenced: its token joins META's `fences`
while the conversation is still at the version the write expected, and an append never
applies once its token is there (transactions.py). A write still in flight (in the network,
or queued in storage) then fails its condition instead of storing the messages a second time
after the client resent them. Any append clears `fences` (a fence only matters while the
version it was taken at is current).
"""

from __future__ import annotations

from shared.conversations.store.items import META, conversation_key, message_key, n, s
from shared.dynamo import Deadline, DynamoDBClient, call_with_retry


def fence(
    client: DynamoDBClient,
    table: str,
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
    try:
        call_with_retry(
            lambda: client.update_item(
                TableName=table,
                Key={"pk": s(conversation_key(tenant, conversation_id)), "sk": s(META)},
                UpdateExpression="ADD fences :token",
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={
                    ":token": {"SS": [token]},
                    ":expected": n(expected_version),
                },
            ),
            deadline,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def write_outcome(
    client: DynamoDBClient,
    table: str,
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
    pk = s(conversation_key(tenant, conversation_id))
    # META first: once it has moved past the expected version, that write's first message
    # item is either there by now or never will be (one writer per index).
    meta = call_with_retry(
        lambda: client.get_item(
            TableName=table,
            Key={"pk": pk, "sk": s(META)},
            ProjectionExpression="version, fences",
            ConsistentRead=True,
        ),
        deadline,
    ).get("Item")
    if meta is not None and int(meta["version"]["N"]) == expected_version:
        return False if token in meta.get("fences", {}).get("SS", []) else None
    first = call_with_retry(
        lambda: client.get_item(
            TableName=table,
            Key={"pk": pk, "sk": s(message_key(first_index))},
            ProjectionExpression="write_token",
            ConsistentRead=True,
        ),
        deadline,
    ).get("Item")
    return first is not None and first.get("write_token", {}).get("S") == token
