"""API keys: `prl_` + 43 url-safe random characters, stored only as SHA-256 hashes.

ApiKeysTable item: pk = hex SHA-256 of the key; key_id (public handle for listing and
revoking), tenant_id, prefix (first characters, to recognise a key), created_at, revoked_at;
plan (usage plan tier) and usage_key (the value of the API Gateway API key bound to that plan,
which the authorizer returns as usageIdentifierKey so API Gateway throttles per key).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.dynamo import Deadline, DynamoDBClient, call_with_retry
from shared.errors import BadRequest, Unauthorized
from shared.fields import format_timestamp

KEY_PREFIX = "prl_"
_KEY_RE = re.compile(r"prl_[A-Za-z0-9_-]{32,}")
_BEARER_RE = re.compile(r"bearer\s+(\S+)\s*", re.IGNORECASE)
TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")  # no '#': it separates key parts


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant_id: str
    prefix: str
    created_at: str
    revoked_at: str | None = None
    plan: str | None = None
    # Not a credential (API Gateway takes it only from the authorizer), but never listed.
    usage_key: str | None = field(default=None, repr=False)

    def listing(self) -> dict[str, Any]:
        """What `parley keys list` shows."""
        shown = asdict(self)
        del shown["usage_key"]
        return shown

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ApiKey:
        return cls(
            key_id=item["key_id"]["S"],
            tenant_id=item["tenant_id"]["S"],
            prefix=item["prefix"]["S"],
            created_at=item["created_at"]["S"],
            revoked_at=item["revoked_at"]["S"] if "revoked_at" in item else None,
            plan=item["plan"]["S"] if "plan" in item else None,
            usage_key=item["usage_key"]["S"] if "usage_key" in item else None,
        )


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The key of an `Authorization: Bearer <key>` header (scheme case-insensitive), else None."""
    match = _BEARER_RE.fullmatch(authorization or "")
    if not match or not _KEY_RE.fullmatch(match.group(1)):
        return None
    return match.group(1)


class KeyStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def create(
        self,
        tenant_id: str,
        deadline: Deadline,
        *,
        plan: str | None = None,
        usage_key: str | None = None,
    ) -> tuple[str, ApiKey]:
        """A new key for the tenant; the plain key is returned here and never again."""
        key = generate_key()
        return key, self.store(key, tenant_id, deadline, plan=plan, usage_key=usage_key)

    def store(
        self,
        key: str,
        tenant_id: str,
        deadline: Deadline,
        *,
        plan: str | None = None,
        usage_key: str | None = None,
    ) -> ApiKey:
        """Store a key made elsewhere (e.g. seeded for local development). A key already stored
        is left as it is, revoked or not, and returned."""
        if not TENANT_RE.fullmatch(tenant_id):
            raise BadRequest(
                "Tenant ids are 1-64 characters: letters, digits, '_', '.', '-' (no '#')"
            )
        if not _KEY_RE.fullmatch(key):
            raise BadRequest("Keys are 'prl_' followed by at least 32 url-safe characters")
        info = ApiKey(
            key_id="key_" + secrets.token_hex(8),
            tenant_id=tenant_id,
            prefix=key[:12],
            created_at=format_timestamp(datetime.now(UTC)),
            plan=plan,
            usage_key=usage_key,
        )
        item = {
            "pk": {"S": hash_key(key)},
            "key_id": {"S": info.key_id},
            "tenant_id": {"S": info.tenant_id},
            "prefix": {"S": info.prefix},
            "created_at": {"S": info.created_at},
        }
        if plan is not None:
            item["plan"] = {"S": plan}
        if usage_key is not None:
            item["usage_key"] = {"S": usage_key}
        try:
            call_with_retry(
                lambda: self._client.put_item(
                    TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
                ),
                deadline,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            existing = call_with_retry(
                lambda: self._client.get_item(TableName=self._table, Key={"pk": item["pk"]}),
                deadline,
            )
            return ApiKey.from_item(existing["Item"])
        return info

    def tenant_for(self, authorization: str | None, deadline: Deadline) -> ApiKey:
        """The active key behind an Authorization header, or Unauthorized."""
        key = bearer_token(authorization)
        if key is None:
            raise Unauthorized()
        digest = hash_key(key)
        response = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table, Key={"pk": {"S": digest}}, ConsistentRead=True
            ),
            deadline,
        )
        item = response.get("Item")
        # The lookup is by hash; the constant-time compare keeps the final check timing-flat.
        if not item or not hmac.compare_digest(item["pk"]["S"], digest) or "revoked_at" in item:
            raise Unauthorized()
        return ApiKey.from_item(item)

    def list_keys(self, deadline: Deadline, tenant_id: str | None = None) -> list[ApiKey]:
        keys = [ApiKey.from_item(item) for item in self._items(deadline)]
        if tenant_id is not None:
            keys = [k for k in keys if k.tenant_id == tenant_id]
        return sorted(keys, key=lambda k: (k.tenant_id, k.created_at))

    def revoke(self, key_id_or_key: str, deadline: Deadline) -> ApiKey | None:
        """Revoke by key id (`key_…`) or by the key itself. None if no such key."""
        if key_id_or_key.startswith(KEY_PREFIX):
            digest = hash_key(key_id_or_key)
        else:
            match = [k for k in self._items(deadline) if k["key_id"]["S"] == key_id_or_key]
            if not match:
                return None
            digest = match[0]["pk"]["S"]
        revoked_at = format_timestamp(datetime.now(UTC))
        try:
            response = call_with_retry(
                lambda: self._client.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": digest}},
                    UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":now": {"S": revoked_at}},
                    ReturnValues="ALL_NEW",
                ),
                deadline,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return ApiKey.from_item(response["Attributes"])

    def _items(self, deadline: Deadline) -> list[dict[str, Any]]:
        page = call_with_retry(lambda: self._client.scan(TableName=self._table), deadline)
        items = list(page.get("Items", []))
        while "LastEvaluatedKey" in page:
            start = page["LastEvaluatedKey"]
            page = call_with_retry(
                lambda: self._client.scan(TableName=self._table, ExclusiveStartKey=start),  # noqa: B023
                deadline,
            )
            items += page.get("Items", [])
        return items
