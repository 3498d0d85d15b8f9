"""The raw archive: every accepted ingest body, gzip-compressed in S3, written before the
answer so a normalization bug fixed later can be repaired by replaying it (`parley replay`).

Object key: `<tenant>/<yyyy>/<mm>/<dd>/<request id>.json.gz` (the UTC day the request was
received). The object is one JSON document (`ArchivedRequest`) holding the body exactly as
received (decompressed) and what re-running it needs to rebuild the same records: route,
request id, receive time, Idempotency-Key and the partial-success preference.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import botocore.session
import pydantic_core
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.dynamo import Deadline, call_with_retry
from shared.errors import StorageUnavailable
from shared.logs import get_logger
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

FORMAT_VERSION = 1
_DISCARD_SECONDS = 5.0

log = get_logger("archive")


@dataclass(frozen=True)
class ArchivedRequest:
    tenant_id: str
    route: str
    request_id: str
    received_at: str
    received_ns: int
    idempotency_key: str | None
    partial: bool
    body: bytes  # decompressed, as received

    def key(self) -> str:
        return (
            f"{day_prefix(self.tenant_id, received_day(self.received_ns))}{self.request_id}.json.gz"
        )

    def to_bytes(self) -> bytes:
        document = {
            "version": FORMAT_VERSION,
            "tenantId": self.tenant_id,
            "route": self.route,
            "requestId": self.request_id,
            "receivedAt": self.received_at,
            "receivedNs": self.received_ns,
            "headers": self._headers(),
            # The body parsed as UTF-8 JSON before it was accepted, so it is valid text.
            "body": self.body.decode(),
        }
        return gzip.compress(pydantic_core.to_json(document), compresslevel=6)

    def _headers(self) -> dict[str, str]:
        headers = {}
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        if self.partial:
            headers["Prefer"] = "partial-success"
        return headers

    @classmethod
    def from_bytes(cls, data: bytes) -> ArchivedRequest:
        document = pydantic_core.from_json(gzip.decompress(data))
        if document.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown archive format version {document.get('version')!r}")
        headers = document["headers"]
        return cls(
            tenant_id=document["tenantId"],
            route=document["route"],
            request_id=document["requestId"],
            received_at=document["receivedAt"],
            received_ns=document["receivedNs"],
            idempotency_key=headers.get("Idempotency-Key"),
            partial=headers.get("Prefer") == "partial-success",
            body=document["body"].encode(),
        )


def received_day(received_ns: int) -> date:
    return datetime.fromtimestamp(received_ns / 1e9, UTC).date()


def day_prefix(tenant_id: str, day: date) -> str:
    return f"{tenant_id}/{day:%Y/%m/%d}/"


def make_s3_client(settings: Settings) -> S3Client:
    config = Config(
        retries={"total_max_attempts": 1},  # call_with_retry owns retrying
        connect_timeout=2,
        read_timeout=5,
        s3={"addressing_style": "path"} if settings.s3_endpoint else None,
    )
    client = botocore.session.get_session().create_client(
        "s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint, config=config
    )
    return cast("S3Client", client)


class ArchiveStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket
        # Archive writes run beside the request's DynamoDB writes.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="archive")

    def start_put(self, request: ArchivedRequest, deadline: Deadline) -> Future[None]:
        """Begin writing the request; the future raises StorageUnavailable if it failed."""
        return self._pool.submit(self.put, request, deadline)

    def put(self, request: ArchivedRequest, deadline: Deadline) -> None:
        data = request.to_bytes()
        try:
            call_with_retry(
                lambda: self._client.put_object(
                    Bucket=self._bucket,
                    Key=request.key(),
                    Body=data,
                    ContentType="application/gzip",  # not Content-Encoding: read back as stored
                ),
                deadline,
            )
        except (ClientError, BotoCoreError) as exc:
            # A bucket missing or denied is not the client's fault: it retries, we get paged.
            log.error("archive write failed", extra={"error": type(exc).__name__})
            raise StorageUnavailable("The request archive is unavailable; retry later") from exc

    def discard_after(self, put: Future[None], request: ArchivedRequest) -> None:
        """Remove the request once its write is done: it was not acknowledged. Best effort (a
        deadline of its own, as the request's is spent); logged if it stays."""
        put.add_done_callback(lambda done: self._discard(done, request))

    def _discard(self, put: Future[None], request: ArchivedRequest) -> None:
        if put.exception() is not None:
            return  # never written
        try:
            call_with_retry(
                lambda: self._client.delete_object(Bucket=self._bucket, Key=request.key()),
                Deadline(_DISCARD_SECONDS),
            )
        except Exception as exc:
            log.error(
                "unacknowledged request left in the archive",
                extra={"key": request.key(), "error": type(exc).__name__},
            )

    def keys(self, tenant_id: str, since: date, until: date) -> Iterator[str]:
        """Every archived request of the tenant received from `since` to `until` (UTC days,
        both included), day by day."""
        paginator = self._client.get_paginator("list_objects_v2")
        day = since
        while day <= until:
            for page in paginator.paginate(Bucket=self._bucket, Prefix=day_prefix(tenant_id, day)):
                for item in page.get("Contents", []):
                    yield item["Key"]
            day += timedelta(days=1)

    def get(self, key: str) -> ArchivedRequest:
        data = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return ArchivedRequest.from_bytes(data)
