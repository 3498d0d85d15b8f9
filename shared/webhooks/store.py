"""Webhook endpoints in DynamoDB (WebhooksTable in template.yaml): pk = tenant, sk = webhook id,
so a tenant only ever reads its own and lists them in creation order with one query.

The signing secrets are sealed (shared/webhooks/crypto.py: envelope encryption under KMS):
`secret_sealed`, and after a rotation `previous_secret_sealed` until `previous_secret_until`.
Rows written before sealing hold `secret` in plain text: still read, and sealed at their next
rotation. Lists and the test event never read the secrets (ProjectionExpression); only a
delivery (`get(..., with_secrets=True)`) opens them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shared.dynamo import Deadline, DynamoDBClient, Item, call_with_retry
from shared.errors import Conflict
from shared.webhooks.models import Webhook

if TYPE_CHECKING:
    from shared.webhooks.crypto import SecretBox

# What lists and the test event read: everything but the secrets.
_PUBLIC = "pk, sk, #url, events, description, created_at"
_PUBLIC_NAMES = {"#url": "url"}
_ROTATE_ATTEMPTS = 3  # concurrent rotations of one webhook: re-read and try again


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class WebhookStore:
    def __init__(self, client: DynamoDBClient, table: str, box: SecretBox) -> None:
        self._client = client
        self._table = table
        self._box = box

    def put(self, tenant: str, webhook: Webhook, deadline: Deadline) -> None:
        assert webhook.secret is not None, "a new webhook has its secret"
        item: Item = {
            "pk": _s(tenant),
            "sk": _s(webhook.id),
            "url": _s(webhook.url),
            "events": _s(json.dumps(webhook.events)),
            "created_at": _s(webhook.created_at),
            "secret_sealed": _s(self._box.seal(webhook.secret, tenant, webhook.id)),
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

    def get(
        self, tenant: str, webhook_id: str, deadline: Deadline, *, with_secrets: bool = False
    ) -> Webhook | None:
        item = self._item(tenant, webhook_id, deadline, with_secrets=with_secrets)
        return self._from_item(tenant, item) if item else None

    def _item(
        self, tenant: str, webhook_id: str, deadline: Deadline, *, with_secrets: bool
    ) -> Item | None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": _s(tenant), "sk": _s(webhook_id)},
            "ConsistentRead": True,
        }
        if not with_secrets:
            request |= {"ProjectionExpression": _PUBLIC, "ExpressionAttributeNames": _PUBLIC_NAMES}
        response = call_with_retry(lambda: self._client.get_item(**request), deadline)
        item: Item | None = response.get("Item")
        return item

    def list(self, tenant: str, deadline: Deadline) -> list[Webhook]:
        """Every endpoint of the tenant, oldest first, without their secrets."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :tenant",
            "ExpressionAttributeValues": {":tenant": _s(tenant)},
            "ProjectionExpression": _PUBLIC,
            "ExpressionAttributeNames": _PUBLIC_NAMES,
            "ConsistentRead": True,
        }
        found: list[Webhook] = []
        while True:
            page = call_with_retry(lambda: self._client.query(**query), deadline)
            found += [self._from_item(tenant, item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def rotate(
        self, tenant: str, webhook_id: str, secret: str, until: str, deadline: Deadline
    ) -> bool:
        """Make `secret` the webhook's secret; the one it replaces stays a signing secret until
        `until`. False when the tenant has no such webhook. The replaced secret is moved still
        sealed (a plain-text one of an older row is sealed now): rotating never decrypts."""
        new_sealed = self._box.seal(secret, tenant, webhook_id)
        for _ in range(_ROTATE_ATTEMPTS):
            item = self._item(tenant, webhook_id, deadline, with_secrets=True)
            if item is None:
                return False
            if self._swap_secrets(tenant, item, new_sealed, until, deadline):
                return True
            # Rotated (or deleted) meanwhile: read it again.
        raise Conflict(
            "This webhook's secret is being rotated by another request; retry",
            details={"id": "Rotated concurrently"},
        )

    def _swap_secrets(
        self, tenant: str, item: Item, new_sealed: str, until: str, deadline: Deadline
    ) -> bool:
        """The new secret in, the current one kept as the previous, if the row still holds
        the secret just read; False when it no longer does."""
        webhook_id = item["sk"]["S"]
        if "secret_sealed" in item:
            replaced = item["secret_sealed"]["S"]
            unchanged, was = "secret_sealed = :was", item["secret_sealed"]
        else:  # a row from before sealing: its plain-text secret is sealed now
            replaced = self._box.seal(item["secret"]["S"], tenant, webhook_id)
            unchanged, was = "secret = :was", item["secret"]
        try:
            call_with_retry(
                lambda: self._client.update_item(
                    TableName=self._table,
                    Key={"pk": _s(tenant), "sk": _s(webhook_id)},
                    UpdateExpression=(
                        "SET secret_sealed = :new, previous_secret_sealed = :old, "
                        "previous_secret_until = :until REMOVE secret"
                    ),
                    ConditionExpression=unchanged,
                    ExpressionAttributeValues={
                        ":new": _s(new_sealed),
                        ":old": _s(replaced),
                        ":until": _s(until),
                        ":was": was,
                    },
                ),
                deadline,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

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

    def _from_item(self, tenant: str, item: Item) -> Webhook:
        webhook_id = item["sk"]["S"]

        def opened(name: str) -> str | None:
            if name not in item:
                return None
            return self._box.open(item[name]["S"], tenant, webhook_id)

        plain = item["secret"]["S"] if "secret" in item else None  # a row from before sealing
        return Webhook(
            id=webhook_id,
            url=item["url"]["S"],
            events=json.loads(item["events"]["S"]),
            description=item["description"]["S"] if "description" in item else None,
            created_at=item["created_at"]["S"],
            secret=opened("secret_sealed") or plain,
            previous_secret=opened("previous_secret_sealed"),
            previous_secret_until=(
                item["previous_secret_until"]["S"] if "previous_secret_until" in item else None
            ),
        )
