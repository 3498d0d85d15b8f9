"""`Idempotency-Key` header: a repeat within the TTL gets the first response back unchanged.

IdempotencyTable item: pk = "<tenant>#<route>#<key>", body_hash (SHA-256 of the decompressed
body), status, response (JSON), expires_at (epoch seconds). Expiry is checked here; the
table's TTL only cleans up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.dynamo import Deadline, DynamoDBClient, call_with_retry
from shared.errors import BadRequest

MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class SavedResponse:
    body_hash: str
    status: int
    response: str


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1-{MAX_KEY_CHARS} printable characters")
    return key


class IdempotencyStore:
    def __init__(self, client: DynamoDBClient, table: str, ttl_seconds: int) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl_seconds

    def get(self, scope: str, deadline: Deadline) -> SavedResponse | None:
        response = call_with_retry(
            lambda: self._client.get_item(
                TableName=self._table, Key={"pk": {"S": scope}}, ConsistentRead=True
            ),
            deadline,
        )
        item = response.get("Item")
        if not item or int(item["expires_at"]["N"]) <= time.time():
            return None
        return SavedResponse(
            body_hash=item["body_hash"]["S"],
            status=int(item["status"]["N"]),
            response=item["response"]["S"],
        )

    def save(self, scope: str, saved: SavedResponse, deadline: Deadline) -> None:
        item = {
            "pk": {"S": scope},
            "body_hash": {"S": saved.body_hash},
            "status": {"N": str(saved.status)},
            "response": {"S": saved.response},
            "expires_at": {"N": str(int(time.time()) + self._ttl)},
        }
        call_with_retry(lambda: self._client.put_item(TableName=self._table, Item=item), deadline)
