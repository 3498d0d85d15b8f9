"""The raw archive: every accepted ingest body, gzip-compressed in S3, written before the
answer so a normalization bug fixed later can be repaired by replaying it (`parley replay`).

Object key: `<tenant>/<yyyy>/<mm>/<dd>/<request id>.json.gz` (the UTC day the request was
received). The object is one JSON document (`ArchivedRequest`) holding the body exactly as
received (decompressed) and what re-running it needs to rebuild the same records: route,
request id, receive time, Idempotency-Key and the partial-success preference.

A request that was archived but not acknowledged (its records failed: the client resends it)
is marked, not deleted: an empty object under `discarded/<its key>`, which `parley replay`
skips. So the ingest functions only ever PutObject on the archive (docs/security.md): no role
that takes traffic can delete an archived body.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import botocore.session
import pydantic_core
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.hooks import first_non_none_response
from botocore.httpsession import URLLib3Session
from botocore.utils import get_environ_proxies, percent_encode

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


DISCARDED = "discarded/"


def discarded_key(key: str) -> str:
    """Where the mark of an unacknowledged request lives (beside no tenant's prefix)."""
    return DISCARDED + key


_ERROR_CODE = re.compile(rb"<Code>([^<]*)</Code>")
_ERROR_MESSAGE = re.compile(rb"<Message>([^<]*)</Message>")


class ArchiveObjects:
    """PutObject in one bucket, as a SigV4-signed HTTP request: botocore's
    credentials (refreshed as botocore refreshes them), S3 signer and HTTP session, without an
    S3 client. Creating an S3 client costs an ingest function's cold start 60-90 ms (botocore
    loads S3's service model and endpoint rules); this one call needs neither. Reading the
    archive (`parley replay`) uses a full client: `ArchiveReader`.

    Each request goes through the session's `before-send` hook first, where moto and stubs
    answer, as they do for any botocore client.
    """

    def __init__(
        self, settings: Settings, bucket: str, session: botocore.session.Session | None = None
    ) -> None:
        session = session or botocore.session.get_session()
        self._credentials = session.get_credentials()
        self._events = session.get_component("event_emitter")
        self._region = settings.aws_region
        if settings.s3_endpoint:  # an S3-protocol server (make dev's): path-style addressing
            self._base = f"{settings.s3_endpoint.rstrip('/')}/{bucket}/"
        elif "." in bucket:  # would not match S3's TLS certificate as a host name
            self._base = f"https://s3.{settings.aws_region}.amazonaws.com/{bucket}/"
        else:
            self._base = f"https://{bucket}.s3.{settings.aws_region}.amazonaws.com/"
        timeouts: Any = (2, 5)  # connect, read: as make_s3_client's (the stubs say int only)
        self._http = URLLib3Session(
            verify=session.get_config_variable("ca_bundle") or True,
            proxies=get_environ_proxies(self._base),
            timeout=timeouts,
            max_pool_connections=4,  # ArchiveStore's threads
        )

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._send("PUT", "PutObject", key, body, {"Content-Type": content_type})

    def _send(
        self, method: str, operation: str, key: str, body: bytes, headers: dict[str, str]
    ) -> None:
        if self._credentials is None:
            raise NoCredentialsError()
        request = AWSRequest(
            method, self._base + percent_encode(key, safe="/~"), headers=headers, data=body
        )
        S3SigV4Auth(self._credentials.get_frozen_credentials(), "s3", self._region).add_auth(
            request
        )
        prepared = request.prepare()
        answered = self._events.emit(f"before-send.s3.{operation}", request=prepared)
        http: AWSResponse = first_non_none_response(answered) or self._http.send(prepared)
        if http.status_code >= 300:
            raise ClientError(_error(http), operation)


def _error(http: AWSResponse) -> Any:
    """The error as botocore's parser would report it: S3's XML `<Code>` and `<Message>`."""
    content = http.content or b""
    code = _ERROR_CODE.search(content)
    message = _ERROR_MESSAGE.search(content)
    return {
        "Error": {
            "Code": code.group(1).decode() if code else str(http.status_code),
            "Message": message.group(1).decode() if message else "",
        },
        "ResponseMetadata": {"HTTPStatusCode": http.status_code},
    }


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
    """Writes the archive (the ingest functions)."""

    def __init__(self, objects: ArchiveObjects) -> None:
        self._objects = objects
        # Archive writes run beside the request's DynamoDB writes.
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="archive")

    def start_put(self, request: ArchivedRequest, deadline: Deadline) -> Future[None]:
        """Begin writing the request; the future raises StorageUnavailable if it failed."""
        return self._pool.submit(self.put, request, deadline)

    def put(self, request: ArchivedRequest, deadline: Deadline) -> None:
        data = request.to_bytes()
        try:
            call_with_retry(
                # Content-Type, not Content-Encoding: read back exactly as stored.
                lambda: self._objects.put(request.key(), data, "application/gzip"),
                deadline,
            )
        except (ClientError, BotoCoreError) as exc:
            # A bucket missing or denied is not the client's fault: it retries, we get paged.
            log.error("archive write failed", extra={"error": type(exc).__name__})
            raise StorageUnavailable("The request archive is unavailable; retry later") from exc

    def discard_after(self, put: Future[None], request: ArchivedRequest) -> None:
        """Mark the request discarded once its write is done: it was not acknowledged, so
        `parley replay` must skip it. Best effort (a deadline of its own, as the request's is
        spent); logged if the mark could not be written."""
        put.add_done_callback(lambda done: self._discard(done, request))

    def _discard(self, put: Future[None], request: ArchivedRequest) -> None:
        if put.exception() is not None:
            return  # never written
        try:
            call_with_retry(
                lambda: self._objects.put(discarded_key(request.key()), b"", "text/plain"),
                Deadline(_DISCARD_SECONDS),
            )
        except Exception as exc:
            log.error(
                "unacknowledged request left in the archive",
                extra={"key": request.key(), "error": type(exc).__name__},
            )


class ArchiveReader:
    """Reads the archive (`parley replay`)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def keys(self, tenant_id: str, since: date, until: date) -> Iterator[str]:
        """Every archived request of the tenant received from `since` to `until` (UTC days,
        both included), day by day; not those marked discarded (never acknowledged)."""
        day = since
        while day <= until:
            prefix = day_prefix(tenant_id, day)
            discarded = {k.removeprefix(DISCARDED) for k in self._list(discarded_key(prefix))}
            yield from (key for key in self._list(prefix) if key not in discarded)
            day += timedelta(days=1)

    def _list(self, prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def get(self, key: str) -> ArchivedRequest:
        data = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return ArchivedRequest.from_bytes(data)
