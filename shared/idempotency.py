"""`Idempotency-Key` header (IETF draft "The Idempotency-Key HTTP Header Field"): the key is
claimed atomically before the work, a repeat within the TTL gets the first answer back
unchanged, a repeat while the first is in flight is told to retry. One implementation for every
route that takes the header (ingest, the conversations and runs writes): `run_once`.

IdempotencyTable item: pk = "<tenant>#<route>#<key>", body_hash (SHA-256 of the decompressed
body), owner (the claiming request's id), expires_at (epoch seconds), and once the work is done
status and response (JSON). An item without a status is a claim: it expires after
`claim_seconds` (longer than a Lambda can run), so a crashed request frees its key. Expiry is
checked here; the table's TTL only cleans up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic_core
from botocore.exceptions import ClientError

from shared.dynamo import Deadline, DynamoDBClient, call_with_retry
from shared.errors import BadRequest, InProgress, UnprocessableContent
from shared.logs import get_logger

MAX_KEY_CHARS = 255
RELEASE_SECONDS = 0.5  # freeing a failed request's claim
# A claim freed or expired between our put and our read is claimed again, a few times at most.
_CLAIM_ATTEMPTS = 3

log = get_logger("idempotency")


@dataclass(frozen=True)
class SavedResponse:
    body_hash: str
    status: int
    response: str


@dataclass(frozen=True)
class Answer:
    """A route's answer as remembered and replayed: its status and JSON body."""

    status: int
    body: Any


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
        problem = f"Must be 1-{MAX_KEY_CHARS} printable characters"
        raise BadRequest(
            f"Idempotency-Key must be 1-{MAX_KEY_CHARS} printable characters",
            details={"Idempotency-Key": problem},  # the conversations envelope names the header
        )
    return key


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class IdempotencyStore:
    def __init__(
        self, client: DynamoDBClient, table: str, ttl_seconds: int, claim_seconds: int
    ) -> None:
        self._client = client
        self._table = table
        self._ttl = ttl_seconds
        self._claim = claim_seconds

    def claim(
        self, scope: str, body_hash: str, owner: str, deadline: Deadline
    ) -> SavedResponse | None:
        """Claim the key for this request (None: go ahead and do the work), or the first
        answer to replay. Raises InProgress while another request holds the claim and
        UnprocessableContent if the key was used with another body."""
        for _ in range(_CLAIM_ATTEMPTS):
            if self._put_claim(scope, body_hash, owner, deadline):
                return None
            item = call_with_retry(
                lambda: self._client.get_item(
                    TableName=self._table, Key={"pk": {"S": scope}}, ConsistentRead=True
                ),
                deadline,
            ).get("Item")
            if not item or int(item["expires_at"]["N"]) <= time.time():
                continue  # released or expired since the put: claim again
            if item["body_hash"]["S"] != body_hash:
                raise UnprocessableContent(
                    "Idempotency-Key was already used with a different request body"
                )
            if "status" not in item:
                raise InProgress()
            return SavedResponse(
                body_hash=item["body_hash"]["S"],
                status=int(item["status"]["N"]),
                response=item["response"]["S"],
            )
        raise InProgress()  # the key kept changing hands: the client retries

    def _put_claim(self, scope: str, body_hash: str, owner: str, deadline: Deadline) -> bool:
        """Write the claim unless a live item (a claim or an answer) holds the key."""
        now = int(time.time())
        try:
            call_with_retry(
                lambda: self._client.put_item(
                    TableName=self._table,
                    Item={
                        "pk": {"S": scope},
                        "body_hash": {"S": body_hash},
                        "owner": {"S": owner},
                        "expires_at": {"N": str(now + self._claim)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                ),
                deadline,
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def save(self, scope: str, saved: SavedResponse, deadline: Deadline) -> None:
        item = {
            "pk": {"S": scope},
            "body_hash": {"S": saved.body_hash},
            "status": {"N": str(saved.status)},
            "response": {"S": saved.response},
            "expires_at": {"N": str(int(time.time()) + self._ttl)},
        }
        call_with_retry(lambda: self._client.put_item(TableName=self._table, Item=item), deadline)

    def release(self, scope: str, owner: str, deadline: Deadline) -> None:
        """Free a claim whose request failed, so the client can retry under the same key. Best
        effort: a claim left behind expires after `claim_seconds`."""
        try:
            call_with_retry(
                lambda: self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": {"S": scope}},
                    ConditionExpression="#owner = :owner AND attribute_not_exists(#status)",
                    ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                    ExpressionAttributeValues={":owner": {"S": owner}},
                ),
                deadline,
            )
        except Exception as exc:  # the request's own error is what the client must see
            if not (isinstance(exc, ClientError) and _condition_failed(exc)):
                log.warning("idempotency claim not released", extra={"error": type(exc).__name__})


def key_scope(tenant: str, route: str, key: str) -> str:
    """Where a key lives: keys are per tenant and per route (a path)."""
    return f"{tenant}#{route}#{check_key(key)}"


def run_once(
    store: IdempotencyStore,
    scope: str,
    body_hash: str,
    owner: str,
    deadline: Deadline,
    work: Callable[[], Answer],
) -> tuple[Answer, bool]:
    """`work()` once per key: (its answer, False), or (the first answer, True) for a repeat.
    Raises InProgress while another request holds the key, UnprocessableContent for the key
    with another body. Only answers are remembered: when `work` raises, the claim is released
    so the client can fix or resend under the same key."""
    saved = store.claim(scope, body_hash, owner, deadline)
    if saved is not None:
        return Answer(saved.status, pydantic_core.from_json(saved.response)), True
    try:
        answer = work()
    except Exception:
        # Its own small budget: a storage fault has often used up the request's deadline, and
        # a claim left behind would answer the client's retry 409 until it expires. Within
        # the second kept back from the Lambda's remaining time for the answer.
        store.release(scope, owner, Deadline(RELEASE_SECONDS))
        raise
    response = pydantic_core.to_json(answer.body).decode()
    store.save(scope, SavedResponse(body_hash, answer.status, response), deadline)
    return answer, False
