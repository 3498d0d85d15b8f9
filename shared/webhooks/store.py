"""Webhook endpoints in DynamoDB (WebhooksTable in template.yaml): pk = tenant, sk = webhook id,
so a tenant only ever reads its own and lists them in creation order with one query. The
signing secret is an attribute of the item: only the webhook functions may read this table."""

from __future__ import annotations

import json
from typing import Any

from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry
from shared.webhooks.models import Webhook


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class WebhookStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, tenant: str, webhook: Webhook, deadline: Deadline) -> None:
        item: Item = {
            "pk": _s(tenant),
            "sk": _s(webhook.id),
            "url": _s(webhook.url),
            "events": _s(json.dumps(webhook.events)),
            "created_at": _s(webhook.created_at),
            "secret": _s(webhook.secret),
        }
        if webhook.description is not None:
            item["description"] = _s(webhook.description)
        call_with_retry(
            lambda: self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",  # ids are never reused
            ),
            deadline,
        )

    def get(self, tenant: str, webhook_id: str, deadline: Deadline) -> Webhook | None:
        response = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table,
                Key={"pk": _s(tenant), "sk": _s(webhook_id)},
                ConsistentRead=True,
            ),
            deadline,
        )
        item = response.get("Item")
        return self._from_item(item) if item else None

    def list(self, tenant: str, deadline: Deadline) -> list[Webhook]:
        """Every endpoint of the tenant, oldest first."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :tenant",
            "ExpressionAttributeValues": {":tenant": _s(tenant)},
            "ConsistentRead": True,
        }
        found: list[Webhook] = []
        while True:
            page = call_with_retry(lambda: self._client.query(**query), deadline)
            found += [self._from_item(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, tenant: str, webhook_id: str, deadline: Deadline) -> bool:
        """Remove it; False when the tenant has no such endpoint."""
        response = call_with_retry(
            lambda: self._client.delete_item(
                TableName=self._table,
                Key={"pk": _s(tenant), "sk": _s(webhook_id)},
                ReturnValues="ALL_OLD",
            ),
            deadline,
        )
        return "Attributes" in response

    @staticmethod
    def _from_item(item: Item) -> Webhook:
        return Webhook(
            id=item["sk"]["S"],
            url=item["url"]["S"],
            events=json.loads(item["events"]["S"]),
            description=item["description"]["S"] if "description" in item else None,
            created_at=item["created_at"]["S"],
            secret=item["secret"]["S"],
        )
