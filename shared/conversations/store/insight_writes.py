"""The insights worker's writes to a conversation's META: its insights, or why analysis failed
for good — each at most once (a redelivered or replayed stream record changes nothing)."""

from __future__ import annotations

from typing import Any

from shared.conversations.store.items import META, conversation_key, json_attr, s
from shared.dynamo import Deadline, DynamoDBClient, call_with_retry


def save_insights(
    client: DynamoDBClient,
    table: str,
    tenant: str,
    conversation_id: str,
    insights: dict[str, Any],
    deadline: Deadline,
) -> bool:
    """Store a completed conversation's insights, once: False when some are already there
    (a redelivered or replayed stream record) or the conversation is gone."""
    return _update_once(
        client,
        table,
        tenant,
        conversation_id,
        "SET insights = :insights, has_insights = :true REMOVE insights_failure",
        {":insights": json_attr(insights), ":true": {"BOOL": True}},
        deadline,
    )


def save_insights_failure(
    client: DynamoDBClient,
    table: str,
    tenant: str,
    conversation_id: str,
    reason: str,
    deadline: Deadline,
) -> bool:
    """Record that analysis failed for good (unless insights exist after all)."""
    return _update_once(
        client,
        table,
        tenant,
        conversation_id,
        "SET insights_failure = :reason",
        {":reason": s(reason)},
        deadline,
    )


def _update_once(
    client: DynamoDBClient,
    table: str,
    tenant: str,
    conversation_id: str,
    update: str,
    values: dict[str, Any],
    deadline: Deadline,
) -> bool:
    try:
        call_with_retry(
            lambda: client.update_item(
                TableName=table,
                Key={"pk": s(conversation_key(tenant, conversation_id)), "sk": s(META)},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(insights)",
                ExpressionAttributeValues=values,
            ),
            deadline,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
