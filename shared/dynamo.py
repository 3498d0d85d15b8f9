"""DynamoDB access: one client per process, one retry loop, and a parallel batch writer.

botocore's own retries are off: every call goes through `call_with_retry`, shared.retry's loop
with DynamoDB's rule (`is_transient`: throttling, 5xx and connection faults), until a deadline,
then StorageUnavailable (a retryable 503). Writes are idempotent puts, so a retry never
duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ChecksumError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from shared.batch_write import BatchWriter
from shared.retry import Deadline as Deadline  # where the stores have always imported it
from shared.retry import retry
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient as DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, Any]
BATCH_SIZE = 25  # BatchWriteItem's maximum
_RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


def is_transient(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in _RETRYABLE_CODES or status >= 500
    # ChecksumError: the answer's CRC32 did not match its body (shared.batch_write checks it).
    return isinstance(exc, BotoConnectionError | HTTPClientError | ChecksumError)


def call_with_retry[T](operation: Callable[[], T], deadline: Deadline) -> T:
    return retry(operation, deadline, transient=is_transient, fault="transient storage fault")


BATCH_GET_SIZE = 100  # BatchGetItem's maximum


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: Sequence[tuple[str, str]],
    attributes: Sequence[str],
    deadline: Deadline,
) -> list[Item]:
    """The items stored under (pk, sk) keys, in no particular order; absent keys are skipped.
    What DynamoDB leaves unprocessed is asked again until the deadline."""
    found: list[Item] = []
    unique = list(dict.fromkeys(keys))
    # Placeholders: attribute names never clash with DynamoDB's reserved words.
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    projection = ", ".join(names)
    for start in range(0, len(unique), BATCH_GET_SIZE):
        pending: list[Any] = [
            {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[start : start + BATCH_GET_SIZE]
        ]
        attempt = 0
        while pending:
            request: dict[str, Any] = {
                table: {
                    "Keys": pending,
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                }
            }
            response = call_with_retry(
                lambda: client.batch_get_item(RequestItems=request),  # noqa: B023
                deadline,
            )
            found += response.get("Responses", {}).get(table, [])
            unprocessed = response.get("UnprocessedKeys", {}).get(table)
            pending = list(unprocessed["Keys"]) if unprocessed else []
            if pending:
                deadline.sleep_before_retry(attempt)
                attempt += 1
    return found


def make_client(
    settings: Settings, session: botocore.session.Session | None = None
) -> DynamoDBClient:
    config = Config(
        retries={"total_max_attempts": 1},  # call_with_retry owns retrying
        max_pool_connections=settings.write_concurrency + 4,
        connect_timeout=2,
        read_timeout=settings.dynamodb_read_timeout_seconds,
        # Items are built by RecordStore.prepare with a fixed shape: re-checking every
        # attribute client-side costs ~15% of a 1,000-record write.
        parameter_validation=False,
    )
    # botocore directly: boto3 adds nothing here but ~40 ms of cold-start imports.
    client = (session or botocore.session.get_session()).create_client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint,
        config=config,
    )
    return cast("DynamoDBClient", client)


@lru_cache(maxsize=1)
def default_session() -> botocore.session.Session:
    """The process's botocore session (its hooks, data loader and credentials), shared by the
    default DynamoDB client and the archive: making one costs ~6 ms of a cold start."""
    return botocore.session.get_session()


@lru_cache(maxsize=1)
def default_client() -> DynamoDBClient:
    return make_client(get_settings(), default_session())


class ParallelBatchWriter:
    """Writes items in batches of 25, several batches at once, retrying what DynamoDB leaves
    unprocessed. Returns once every item is stored, or raises StorageUnavailable."""

    def __init__(self, client: DynamoDBClient, concurrency: int) -> None:
        self._concurrency = concurrency
        self._executor: ThreadPoolExecutor | None = None
        self._send: Callable[[str, list[Any]], Any]
        if isinstance(client, BaseClient):
            self._send = BatchWriter(client).write  # see shared/batch_write.py for why
        else:  # a test's stand-in client
            self._send = lambda table, requests: client.batch_write_item(
                RequestItems={table: requests}
            )

    def put_items(self, table: str, items: Sequence[Item], deadline: Deadline) -> None:
        self._write(table, [{"PutRequest": {"Item": item}} for item in items], deadline)

    def delete_keys(self, table: str, keys: Sequence[Item], deadline: Deadline) -> None:
        """Deletes the items with these keys (an item already gone is no error)."""
        self._write(table, [{"DeleteRequest": {"Key": key}} for key in keys], deadline)

    def _write(self, table: str, requests: Sequence[Any], deadline: Deadline) -> None:
        batches = [requests[i : i + BATCH_SIZE] for i in range(0, len(requests), BATCH_SIZE)]
        if len(batches) <= 1:
            for batch in batches:
                self._write_batch(table, batch, deadline)
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._concurrency, thread_name_prefix="ddb-write")
        futures = [self._executor.submit(self._write_batch, table, b, deadline) for b in batches]
        _wait_all(futures)

    def _write_batch(self, table: str, batch: Sequence[Any], deadline: Deadline) -> None:
        pending: list[Any] = list(batch)
        attempt = 0
        while True:
            response = call_with_retry(lambda: self._send(table, pending), deadline)  # noqa: B023
            pending = list(response.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                return
            deadline.sleep_before_retry(attempt)
            attempt += 1


def _wait_all(futures: list[Future[None]]) -> None:
    """Wait for every batch; on failure cancel the ones not started and raise the first error."""
    first_error: BaseException | None = None
    for future in futures:
        try:
            future.result()
        except BaseException as exc:
            if first_error is None:
                first_error = exc
                for other in futures:
                    other.cancel()
    if first_error is not None:
        raise first_error
