"""BatchWriteItem for the parallel writer, doing per call only the work that changes per call.

A botocore call holds the GIL for ~1 ms per BatchWriteItem (event hooks, endpoint rules, user
agent, serialization, signing, HTTP, response parsing), and the writer's threads queue behind
each other for it: storing 1,000 records is 40 calls, CPU-bound, not latency-bound.

What is the same for every call to a table - URL, headers, signing context - is taken from the
first call to it, which goes through `client.batch_write_item` unchanged. Every later call does
only what depends on its items: the JSON body; the `before-call` hooks (so botocore's Stubber,
the dev server's fault injection and Lambda's trace header still apply); SigV4 signing by the
client's signer (its credentials, refreshed as botocore refreshes them); the `before-send` hooks
(moto and the bench answer there) and the send through the client's HTTP session (its pool,
timeouts, TLS and connection errors); and `orjson.loads` of the answer, checked against its CRC32.
Any status but 200 is parsed by botocore's parser and raised as the client's own exception
class, so callers see what `client.batch_write_item` raises.

That short path uses botocore internals (the client's `_request_signer` and
`_endpoint.http_session`, the service model's `resolved_protocol`), so it runs only with the
botocore releases it was checked against (`CHECKED_BOTOCORE`: this module's tests pass on each
of those minor releases; botocore 1.38 lacks `resolved_protocol`). With any other botocore -
Lambda's runtime brings its own - every call goes through `client.batch_write_item`, and the
process logs that once.
"""

from __future__ import annotations

import threading
import zlib
from functools import cache
from typing import Any

import botocore
import orjson
import pybase64
from botocore.awsrequest import AWSResponse, create_request_object
from botocore.client import BaseClient
from botocore.endpoint import convert_to_response_dict
from botocore.exceptions import ChecksumError
from botocore.hooks import first_non_none_response
from botocore.parsers import create_parser

from shared.logs import get_logger

OPERATION = "BatchWriteItem"
# The botocore minor releases (first, last) the short path was run against: the tests of
# tests/unit/test_batch_write.py and test_dynamo_wire.py pass on 1.39.0, 1.40.0, 1.41.0, 1.42.1,
# 1.43.0, 1.44.5 (constraints.txt) and 1.44.18. Widen only after running them on the new one.
CHECKED_BOTOCORE = ((1, 39), (1, 44))
_TRACE_HEADER = "X-Amzn-Trace-Id"  # per invocation in Lambda: the before-call hook sets it


class _Template:
    __slots__ = ("context", "headers", "url")

    def __init__(self, url: str, headers: dict[str, Any], context: dict[str, Any]) -> None:
        self.url = url
        self.headers = headers
        self.context = context


def short_path_unavailable(client: Any, version: str) -> str | None:
    """Why the short path cannot run with this client and botocore version; None if it can."""
    try:
        minor = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        minor = ()
    first, last = CHECKED_BOTOCORE
    if not first <= minor <= last:
        checked = "{}.{}-{}.{}".format(*first, *last)
        return f"botocore {version} is not one it was checked against ({checked})"
    internals = (
        hasattr(client, "_request_signer"),
        hasattr(getattr(client, "_endpoint", None), "http_session"),
        hasattr(client.meta.service_model, "resolved_protocol"),
    )
    if not all(internals):
        return f"botocore {version}'s client lacks an internal the short path uses"
    return None


@cache
def _log_fallback(reason: str) -> None:
    """Once per process (and reason): every BatchWriter of the process takes the same path."""
    get_logger("batch_write").warning(
        "BatchWriteItem goes through client.batch_write_item: %s", reason, extra={"reason": reason}
    )


class BatchWriter:
    """`write(table, requests)` sends one BatchWriteItem and returns DynamoDB's parsed answer
    (`UnprocessedItems`), or raises what `client.batch_write_item` would. Thread-safe."""

    def __init__(self, client: BaseClient) -> None:
        untyped: Any = client  # the signer and HTTP session are not in botocore's stubs
        self._client = untyped
        fallback = short_path_unavailable(client, botocore.__version__)
        self.short_path = fallback is None
        if fallback is not None:
            _log_fallback(fallback)
            return
        self._events = untyped.meta.events  # emit_until_response is not in the stubs either
        self._model = client.meta.service_model.operation_model(OPERATION)
        service = client.meta.service_model.service_id.hyphenize()
        self._before_call = f"before-call.{service}.{OPERATION}"
        self._before_send = f"before-send.{service}.{OPERATION}"
        self._signer = untyped._request_signer
        self._http = untyped._endpoint.http_session
        self._templates: dict[str, _Template] = {}
        self._learning = threading.local()  # the table of this thread's botocore call, if any
        self._events.register(self._before_call, self._learn)

    def write(self, table: str, requests: list[Any]) -> dict[str, Any]:
        if not self.short_path:
            public: dict[str, Any] = self._client.batch_write_item(RequestItems={table: requests})
            return public
        template = self._templates.get(table)
        body = _body(table, requests)
        if template is None or body is None:
            # The first call to a table (its template is learnt on the way), or a value only
            # botocore's serializer writes (a Python set, a Decimal, a lone surrogate).
            return self._botocore_call(table, requests)
        params = {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "url": template.url,
            "headers": dict(template.headers),
            "body": body,
            "context": dict(template.context),
        }
        _, answer = self._events.emit_until_response(
            self._before_call,
            model=self._model,
            params=params,
            request_signer=self._signer,
            context=params["context"],
        )
        if answer is not None:  # a stub answered, as it would for client.batch_write_item
            http, parsed = answer
            if http.status_code >= 300:
                self._raise(parsed)
            stubbed: dict[str, Any] = parsed
            return stubbed
        request = create_request_object(params)
        self._signer.sign(OPERATION, request)
        prepared = request.prepare()
        for name, value in prepared.headers.items():  # UTF-8, as botocore's endpoint sends them
            if isinstance(value, str):
                prepared.headers[name] = value.encode()
        sent = first_non_none_response(self._events.emit(self._before_send, request=prepared))
        http = sent or self._http.send(prepared)
        if http.status_code != 200:
            self._raise(self._parse_error(http))
        content = http.content
        expected = http.headers.get("x-amz-crc32")
        if expected is not None and zlib.crc32(content) != int(expected):
            raise ChecksumError(
                checksum_type="crc32",
                expected_checksum=expected,
                actual_checksum=str(zlib.crc32(content)),
            )
        response: dict[str, Any] = orjson.loads(content)
        response["ResponseMetadata"] = {"HTTPStatusCode": 200}
        return response

    def _botocore_call(self, table: str, requests: list[Any]) -> dict[str, Any]:
        self._learning.table = table
        try:
            response: dict[str, Any] = self._client.batch_write_item(RequestItems={table: requests})
        finally:
            self._learning.table = None
        return response

    def _learn(self, params: dict[str, Any], **_: Any) -> None:
        """before-call hook: keep what botocore built for the first call to a table. Runs after
        the hooks registered before it, so it sees the request as it would be sent."""
        table = getattr(self._learning, "table", None)
        if table is None or table in self._templates:
            return
        headers = {k: v for k, v in params["headers"].items() if k != _TRACE_HEADER}
        self._templates[table] = _Template(params["url"], headers, dict(params["context"]))

    def _parse_error(self, http: AWSResponse) -> dict[str, Any]:
        parser = create_parser(self._model.service_model.resolved_protocol)
        shape: Any = self._model.output_shape
        parsed: dict[str, Any] = parser.parse(convert_to_response_dict(http, self._model), shape)
        return parsed

    def _raise(self, parsed: dict[str, Any]) -> None:
        code = parsed.get("Error", {}).get("Code")
        raise self._client.exceptions.from_code(code)(parsed, OPERATION)


def _body(table: str, requests: list[Any]) -> bytes | None:
    """The request body: the JSON botocore's serializer makes for str, bool, list, dict, None
    and bytes values (the same document, tests/unit/test_dynamo_wire.py; orjson writes it in a
    fifth of `json.dumps`'s time, compact and in UTF-8 where botocore escapes to ASCII); None
    for any other value. Binary attributes (`B`, `BS`) must hold bytes, as everything Parley
    writes does (a record's compressed `rec`): a str there would go out as is, where botocore
    would base64 it."""
    try:
        return orjson.dumps({"RequestItems": {table: requests}}, default=_base64)
    except TypeError:  # orjson.JSONEncodeError is one
        return None


def _base64(value: object) -> str:
    """The wire form of a binary value, as botocore's `_get_base64` writes it (pybase64: the
    same standard alphabet and padding, a fifth of the stdlib's time)."""
    if isinstance(value, bytes | bytearray):
        return pybase64.b64encode_as_string(value)
    raise TypeError(type(value).__name__)
