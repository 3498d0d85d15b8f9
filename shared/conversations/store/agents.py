"""The agent registry: a tenant's agents named by `agentName` get a stable id, item pk
"<tenant>#agent#<name>", sk "AGENT" in the conversations table."""

from __future__ import annotations

from shared.conversations.store.items import s
from shared.dynamo import Deadline, DynamoDBClient, call_with_retry

AGENT = "AGENT"


def agent_id(
    client: DynamoDBClient, table: str, tenant: str, name: str, new_id: str, deadline: Deadline
) -> str:
    """The tenant's id for the agent `name`: `new_id` if this is its first use."""
    key = {"pk": s(f"{tenant}#agent#{name}"), "sk": s(AGENT)}
    try:
        call_with_retry(
            lambda: client.put_item(
                TableName=table,
                Item={**key, "agent_id": s(new_id), "name": s(name)},
                ConditionExpression="attribute_not_exists(pk)",
            ),
            deadline,
        )
        return new_id
    except client.exceptions.ConditionalCheckFailedException:
        pass
    item = call_with_retry(
        lambda: client.get_item(TableName=table, Key=key, ConsistentRead=True), deadline
    )["Item"]
    return item["agent_id"]["S"]
