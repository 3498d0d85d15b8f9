"""Reading one conversation: all its items in one consistent query, or META alone."""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation
from shared.conversations.store.items import (
    META,
    conversation_key,
    decode_messages,
    from_meta,
    s,
)
from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry


def load(
    client: DynamoDBClient, table: str, tenant: str, conversation_id: str, deadline: Deadline
) -> Conversation | None:
    """The conversation with every message (one consistent query), None if there is none
    for this tenant."""
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": s(conversation_key(tenant, conversation_id))},
        "ConsistentRead": True,
    }
    meta: Item | None = None
    chunks: list[Item] = []
    while True:
        page = call_with_retry(lambda: client.query(**query), deadline)
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
    conversation = from_meta(meta)
    chunks.sort(key=lambda item: item["sk"]["S"])
    messages: list[dict[str, Any]] = []
    for item in chunks:
        messages += decode_messages(item)
    conversation.messages = messages
    conversation.content = "\n".join(item["text"]["S"] for item in chunks)
    conversation.writes = frozenset(
        item["write_token"]["S"] for item in chunks if "write_token" in item
    )
    return conversation


def load_summary(
    client: DynamoDBClient, table: str, tenant: str, conversation_id: str, deadline: Deadline
) -> Conversation | None:
    """META only (no messages): status, fields, insights."""
    response = call_with_retry(
        lambda: client.get_item(
            TableName=table,
            Key={"pk": s(conversation_key(tenant, conversation_id)), "sk": s(META)},
            ConsistentRead=True,
        ),
        deadline,
    )
    item = response.get("Item")
    return from_meta(item) if item else None
