"""ArchiveObjects: the archive's PutObject without an S3 client is signed,
addressed and failed as botocore's S3 client does them. The wire is replaced at the session's
`before-send` hook, where moto answers in the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from shared.dynamo import Deadline, is_transient
from shared.errors import StorageUnavailable
from shared.ingest.archive import ArchivedRequest, ArchiveObjects, ArchiveStore
from shared.settings import Settings


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Wire:
    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.script: list[tuple[int, bytes]] = []

    def send(self, request: Any, **_: Any) -> AWSResponse:
        self.sent.append(request)
        status, body = self.script.pop(0) if self.script else (200, b"")
        headers: Any = {}
        return AWSResponse(request.url, status, headers, _Raw(body))

    def error(self, status: int, code: str) -> None:
        self.script.append(
            (status, f"<Error><Code>{code}</Code><Message>scripted</Message></Error>".encode())
        )


def objects(
    wire: Wire, endpoint: str | None = None, bucket: str = "parley-archive"
) -> ArchiveObjects:
    settings = Settings(aws_region="eu-west-1", s3_endpoint=endpoint)
    made = ArchiveObjects(settings, bucket)
    made._events.register("before-send.s3", wire.send)
    return made


def test_put_is_a_signed_virtual_hosted_put() -> None:
    wire = Wire()
    objects(wire).put("acme/2026/01/02/req 1+é.json.gz", b"gz", "application/gzip")
    (request,) = wire.sent
    assert request.method == "PUT"
    assert request.url == (
        "https://parley-archive.s3.eu-west-1.amazonaws.com/acme/2026/01/02/req%201%2B%C3%A9.json.gz"
    )
    assert request.body == b"gz"
    assert request.headers["Content-Type"] == "application/gzip"
    auth = request.headers["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/eu-west-1/s3/aws4_request" in auth
    # S3's SigV4 signs the payload's hash, in a header of its own.
    assert request.headers["X-Amz-Content-SHA256"] != "UNSIGNED-PAYLOAD"


def test_a_custom_endpoint_is_addressed_path_style() -> None:
    wire = Wire()
    objects(wire, "http://127.0.0.1:9/").put("acme/k.json.gz", b"gz", "application/gzip")
    (request,) = wire.sent
    assert request.method == "PUT"
    assert request.url == "http://127.0.0.1:9/parley-archive/acme/k.json.gz"


def test_a_bucket_with_dots_is_addressed_path_style() -> None:
    wire = Wire()
    objects(wire, bucket="archive.example.com").put("k", b"", "application/gzip")
    assert wire.sent[0].url == "https://s3.eu-west-1.amazonaws.com/archive.example.com/k"


@pytest.mark.parametrize(
    ("status", "code", "transient"),
    [(503, "SlowDown", True), (500, "InternalError", True), (403, "AccessDenied", False)],
)
def test_errors_are_client_errors_with_s3s_code(status: int, code: str, transient: bool) -> None:
    wire = Wire()
    wire.error(status, code)
    with pytest.raises(ClientError) as raised:
        objects(wire).put("k", b"", "application/gzip")
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert is_transient(raised.value) is transient


def request() -> ArchivedRequest:
    return ArchivedRequest(
        "acme", "/v1/ingest", "r1", "2026-01-02T00:00:00Z", 0, None, False, b"{}"
    )


def test_the_store_retries_slowdown_and_fails_as_storage_unavailable() -> None:
    wire = Wire()
    store = ArchiveStore(objects(wire))
    wire.error(503, "SlowDown")
    store.put(request(), Deadline(5))
    assert len(wire.sent) == 2
    assert wire.sent[1].url.endswith("/acme/1970/01/01/r1.json.gz")

    wire.error(403, "AccessDenied")
    with pytest.raises(StorageUnavailable):
        store.put(request(), Deadline(5))
    assert len(wire.sent) == 3
