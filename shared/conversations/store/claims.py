"""Idempotency keys of creates: pk "<tenant>#idem#<key>", sk "IDEM", in the conversations
table, so a create and its key's claim are one transaction (transactions.py). Expiry is
decided by the service's clock; DynamoDB's TTL only deletes late."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.conversations.store.items import n, s
from shared.dynamo import Deadline, DynamoDBClient, call_with_retry

IDEM = "IDEM"


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


def _claim_key(tenant: str, key: str) -> dict[str, Any]:
    return {"pk": s(f"{tenant}#idem#{key}"), "sk": s(IDEM)}


def claim_action(
    table: str, tenant: str, conversation_id: str, claim: IdempotencyClaim, now_epoch: int
) -> dict[str, Any]:
    """The put that claims the key for this create, unless a live claim holds it."""
    return {
        "Put": {
            "TableName": table,
            "Item": {
                **_claim_key(tenant, claim.key),
                "conversation_id": s(conversation_id),
                "body_hash": s(claim.body_hash),
                "expires_at": n(claim.expires_at),
            },
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
            "ExpressionAttributeValues": {":now": n(now_epoch)},
        }
    }


def claimed_key(
    client: DynamoDBClient, table: str, tenant: str, key: str, deadline: Deadline
) -> ClaimedKey | None:
    response = call_with_retry(
        lambda: client.get_item(TableName=table, Key=_claim_key(tenant, key), ConsistentRead=True),
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
