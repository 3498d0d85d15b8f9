"""shared.batch_write: BatchWriteItem without botocore's per-call machinery sends what botocore
sends and raises what botocore raises; the parallel writer keeps its guarantees on top of it.

The client is the real one `make_client` builds; only the wire is replaced, at botocore's
`before-send` hook (as moto does), so signing, hooks and the writer's retries all run.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import botocore
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ChecksumError, ClientError
from botocore.stub import Stubber

from shared import batch_write, dynamo
from shared.batch_write import BatchWriter, short_path_unavailable
from shared.dynamo import Deadline, ParallelBatchWriter
from shared.errors import StorageUnavailable
from shared.settings import Settings

TABLE = "records"
ENDPOINT = "http://127.0.0.1:9"  # never reached: every call is answered at before-send


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Wire:
    """DynamoDB's side of the wire: records every request, answers from a script (then 200s)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.script: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self.botocore_calls = 0  # calls that went through botocore's own request path

    def answer(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.script.append((status, body, headers or {}))

    def unprocessed(self, requests: list[Any]) -> None:
        self.answer(200, {"UnprocessedItems": {TABLE: requests}})

    def error(self, status: int, code: str) -> None:
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "scripted"}
        self.answer(status, body)

    def send(self, request: Any, **_: Any) -> AWSResponse:
        self.sent.append(request)
        status, body, headers = self.script.pop(0) if self.script else (200, {}, {})
        data = json.dumps(body or {"UnprocessedItems": {}}).encode()
        headers = {"x-amz-crc32": str(zlib.crc32(data)), **headers}
        response_headers: Any = headers
        return AWSResponse(request.url, status, response_headers, _Raw(data))

    def count_botocore_call(self, **_: Any) -> None:
        self.botocore_calls += 1

    def items_sent(self, index: int) -> list[Any]:
        body = self.sent[index].body
        requests: list[Any] = json.loads(body)["RequestItems"][TABLE]
        return requests


@pytest.fixture
def client() -> Any:
    settings = Settings(aws_region="us-east-1", dynamodb_endpoint=ENDPOINT)
    return dynamo.make_client(settings)


@pytest.fixture
def wire(client: Any) -> Wire:
    wire = Wire()
    client.meta.events.register("before-send.dynamodb", wire.send)
    # request-created is emitted by botocore's request path only, never by the short one.
    client.meta.events.register("request-created.dynamodb", wire.count_botocore_call)
    return wire


def puts(count: int, start: int = 0) -> list[Any]:
    return [
        {"PutRequest": {"Item": {"pk": {"S": "t#c"}, "sk": {"S": f"r{i}"}}}}
        for i in range(start, start + count)
    ]


@pytest.fixture
def parallel(client: Any, wire: Wire) -> ParallelBatchWriter:
    return ParallelBatchWriter(client, 4)


def store(parallel: ParallelBatchWriter, count: int, seconds: float = 5.0) -> None:
    items = [request["PutRequest"]["Item"] for request in puts(count)]
    parallel.put_items(TABLE, items, Deadline(seconds))


def test_later_calls_send_what_botocore_sends(client: Any, wire: Wire) -> None:
    writer = BatchWriter(client)
    assert writer.write(TABLE, puts(2))["UnprocessedItems"] == {}
    assert writer.write(TABLE, puts(3, start=2))["UnprocessedItems"] == {}
    assert wire.botocore_calls == 1  # the first call only: it teaches the template
    first, second = wire.sent
    assert second.url == first.url == f"{ENDPOINT}/"
    assert second.method == first.method == "POST"
    assert wire.items_sent(1) == puts(3, start=2)
    for name in ("X-Amz-Target", "Content-Type", "User-Agent", "X-Amz-Security-Token"):
        assert second.headers[name] == first.headers[name], name
    assert second.headers["X-Amz-Target"] == b"DynamoDB_20120810.BatchWriteItem"
    # SigV4 with the client's credentials and scope, over the headers botocore signs.
    first_auth = first.headers["Authorization"].decode()
    second_auth = second.headers["Authorization"].decode()
    assert second_auth.startswith("AWS4-HMAC-SHA256 Credential=")
    assert first_auth.split("Signature=")[0] == second_auth.split("Signature=")[0]
    assert first_auth.split("Signature=")[1] != second_auth.split("Signature=")[1]
    assert int(second.headers["Content-Length"]) == len(second.body)


def test_each_table_learns_its_own_template(client: Any, wire: Wire) -> None:
    writer = BatchWriter(client)
    for table in ("a", "b", "a", "b"):
        writer.write(table, puts(1))
    assert wire.botocore_calls == 2


def test_binary_values_take_the_short_path_base64_as_botocore_sends_them(
    client: Any, wire: Wire
) -> None:
    # A compressed record's `rec` is binary: every ingest write carries one.
    writer = BatchWriter(client)
    binary = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "b": {"B": b"\x00\xff"}}}}]
    writer.write(TABLE, binary)
    writer.write(TABLE, binary)
    assert wire.botocore_calls == 1
    assert json.loads(wire.sent[0].body) == json.loads(wire.sent[1].body)
    assert json.loads(wire.sent[1].body)["RequestItems"][TABLE][0]["PutRequest"]["Item"]["b"] == {
        "B": "AP8="
    }


def test_values_json_cannot_write_go_through_botocore(client: Any, wire: Wire) -> None:
    writer = BatchWriter(client)
    a_set = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "tags": {"SS": {"x"}}}}}]
    writer.write(TABLE, puts(1))
    writer.write(TABLE, a_set)
    assert wire.botocore_calls == 2
    assert json.loads(wire.sent[1].body)["RequestItems"][TABLE][0]["PutRequest"]["Item"][
        "tags"
    ] == {"SS": ["x"]}


def test_unprocessed_items_are_returned_and_retried_alone(
    parallel: ParallelBatchWriter, wire: Wire
) -> None:
    store(parallel, 1)  # teaches the template
    left = puts(5)[3:]
    wire.unprocessed(left)
    store(parallel, 5)
    assert wire.items_sent(1) == puts(5)
    assert wire.items_sent(2) == left
    assert wire.botocore_calls == 1


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ProvisionedThroughputExceededException"),
        (400, "ThrottlingException"),
        (400, "RequestLimitExceeded"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_throttling_and_server_errors_raise_as_botocore_and_are_retried(
    client: Any, parallel: ParallelBatchWriter, wire: Wire, status: int, code: str
) -> None:
    writer = BatchWriter(client)
    writer.write(TABLE, puts(1))
    wire.error(status, code)
    with pytest.raises(ClientError) as raised:
        writer.write(TABLE, puts(1))
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert isinstance(raised.value, client.exceptions.from_code(code))
    assert dynamo.is_transient(raised.value)

    wire.error(status, code)
    wire.error(status, code)
    store(parallel, 3)
    assert wire.items_sent(-1) == puts(3)


def test_persistent_throttling_ends_in_storage_unavailable(
    parallel: ParallelBatchWriter, wire: Wire
) -> None:
    store(parallel, 1)
    for _ in range(1000):
        wire.error(400, "ProvisionedThroughputExceededException")
    with pytest.raises(StorageUnavailable):
        store(parallel, 3, seconds=0.2)


def test_validation_errors_are_raised_at_once(parallel: ParallelBatchWriter, wire: Wire) -> None:
    store(parallel, 1)
    wire.error(400, "ValidationException")
    with pytest.raises(ClientError) as raised:
        store(parallel, 3)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert len(wire.sent) == 2


def test_a_corrupted_answer_is_retried(
    client: Any, parallel: ParallelBatchWriter, wire: Wire
) -> None:
    writer = BatchWriter(client)
    writer.write(TABLE, puts(1))
    wire.answer(200, {"UnprocessedItems": {}}, {"x-amz-crc32": "1"})
    with pytest.raises(ChecksumError):
        writer.write(TABLE, puts(1))
    store(parallel, 1)  # teaches the parallel writer its template
    wire.answer(200, {"UnprocessedItems": {}}, {"x-amz-crc32": "1"})
    store(parallel, 2)
    assert len(wire.sent) == 5
    assert wire.items_sent(-2) == wire.items_sent(-1) == puts(2)


def test_lambda_trace_header_is_the_current_invocations(
    client: Any, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ingest")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-first")
    writer = BatchWriter(client)
    writer.write(TABLE, puts(1))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-second")
    writer.write(TABLE, puts(1))
    assert [r.headers["X-Amzn-Trace-Id"] for r in wire.sent] == [b"Root=1-first", b"Root=1-second"]


def test_before_call_hooks_still_answer(client: Any, wire: Wire) -> None:
    """botocore's Stubber and the dev server's fault injection work at before-call."""
    writer = BatchWriter(client)
    writer.write(TABLE, puts(1))
    with Stubber(client) as stub:
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: puts(1)}})
        stub.add_client_error(
            "batch_write_item", service_error_code="ThrottlingException", http_status_code=400
        )
        assert writer.write(TABLE, puts(2))["UnprocessedItems"] == {TABLE: puts(1)}
        with pytest.raises(ClientError) as raised:
            writer.write(TABLE, puts(2))
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        stub.assert_no_pending_responses()
    assert len(wire.sent) == 1  # the stubbed calls never reached the wire


# --- the version guard: any botocore it was not checked against takes the public client --------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def untested_botocore(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Records]:
    """A botocore release the short path was never run against; the fallback's log lines."""
    monkeypatch.setattr(botocore, "__version__", "1.99.0")
    batch_write._log_fallback.cache_clear()
    records = _Records()
    logger = logging.getLogger("parley.batch_write")
    logger.addHandler(records)
    yield records
    logger.removeHandler(records)
    batch_write._log_fallback.cache_clear()


def test_the_pinned_botocore_takes_the_short_path(client: Any) -> None:
    assert short_path_unavailable(client, botocore.__version__) is None
    assert BatchWriter(client).short_path


@pytest.mark.parametrize("version", ["1.38.46", "1.45.0", "2.0.0", "1.x.0", "unknown"])
def test_other_botocore_versions_are_refused(client: Any, version: str) -> None:
    reason = short_path_unavailable(client, version)
    assert reason is not None
    assert version in reason


@pytest.mark.parametrize("internal", ["_request_signer", "http_session", "resolved_protocol"])
def test_a_client_without_an_internal_it_uses_is_refused(client: Any, internal: str) -> None:
    def stand_in(**attributes: Any) -> SimpleNamespace:
        return SimpleNamespace(**{k: v for k, v in attributes.items() if k != internal})

    model = stand_in(resolved_protocol=client.meta.service_model.resolved_protocol)
    complete = stand_in(
        _request_signer=client._request_signer,
        _endpoint=stand_in(http_session=client._endpoint.http_session),
        meta=SimpleNamespace(service_model=model),
    )
    assert short_path_unavailable(complete, botocore.__version__) is not None


def test_untested_botocore_writes_through_the_public_client(
    client: Any, parallel: ParallelBatchWriter, wire: Wire, untested_botocore: _Records
) -> None:
    writer = BatchWriter(client)
    assert not writer.short_path
    assert writer.write(TABLE, puts(2))["UnprocessedItems"] == {}
    assert writer.write(TABLE, puts(3, start=2))["UnprocessedItems"] == {}
    assert wire.botocore_calls == 2  # every call, not only a table's first
    assert wire.items_sent(1) == puts(3, start=2)
    # The parallel writer on top: unprocessed items retried alone, everything stored.
    left = puts(5)[3:]
    wire.unprocessed(left)
    store(ParallelBatchWriter(client, 4), 5)
    assert wire.items_sent(-2) == puts(5)
    assert wire.items_sent(-1) == left
    # Logged once for the process, however many writers and calls.
    assert len(untested_botocore.records) == 1
    assert "1.99.0" in untested_botocore.records[0].getMessage()


@pytest.mark.parametrize(
    ("status", "code"), [(400, "ThrottlingException"), (400, "ValidationException")]
)
def test_untested_botocore_raises_the_clients_own_exceptions(
    client: Any, wire: Wire, untested_botocore: _Records, status: int, code: str
) -> None:
    writer = BatchWriter(client)
    wire.error(status, code)
    with pytest.raises(ClientError) as raised:
        writer.write(TABLE, puts(1))
    assert type(raised.value) is client.exceptions.from_code(code)
    assert raised.value.response["Error"]["Code"] == code
    assert dynamo.is_transient(raised.value) == (code == "ThrottlingException")
