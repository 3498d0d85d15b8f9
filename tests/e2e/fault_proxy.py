"""A DynamoDB fault injector over HTTP: a small proxy between the server's real botocore client
and an embedded moto server, failing the calls it is told to the way DynamoDB and networks do.

Faults are taken in order, per DynamoDB operation (or for any operation), so a test says
exactly which calls fail and how; everything else is forwarded unchanged.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Fault = Literal[
    "throttled",  # ProvisionedThroughputExceededException
    "throttling",  # ThrottlingException
    "unprocessed",  # BatchWriteItem / BatchGetItem: every item left unprocessed
    "server-error",  # HTTP 500 InternalServerError
    "timeout",  # no answer until the client's read timeout, then the connection drops
    "reset",  # the connection is reset before the call reaches DynamoDB
    "lost",  # the call is applied, then the connection is reset: the answer is lost
    "cancelled",  # TransactWriteItems: TransactionCanceledException (TransactionConflict)
]
WRITES = ("BatchWriteItem", "TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem")
ANY = "*"
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass
class FaultPlan:
    """Which calls fail: per operation ("*" for any), the faults still to inject, in order."""

    pending: dict[str, list[Fault]] = field(default_factory=dict)
    always: dict[str, Fault] = field(default_factory=dict)
    injected: list[tuple[str, Fault]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, fault: Fault, times: int, operations: Iterable[str] = (ANY,)) -> None:
        with self.lock:
            for operation in operations:
                self.pending.setdefault(operation, []).extend([fault] * times)

    def fail_always(self, fault: Fault, operations: Iterable[str] = (ANY,)) -> None:
        with self.lock:
            for operation in operations:
                self.always[operation] = fault

    def clear(self) -> None:
        with self.lock:
            self.pending.clear()
            self.always.clear()

    def take(self, operation: str) -> Fault | None:
        with self.lock:
            for key in (operation, ANY):
                if self.pending.get(key):
                    fault = self.pending[key].pop(0)
                    break
                if key in self.always:
                    fault = self.always[key]
                    break
            else:
                return None
            self.injected.append((operation, fault))
            return fault


class FaultProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to `upstream` unless the plan says no."""

    def __init__(self, upstream: str, client_read_timeout: float, spare_table: str) -> None:
        """`spare_table`: calls on this table are never failed (the API keys: the gateway's
        answer to a failing authorizer has its own tests)."""
        self.plan = FaultPlan()
        host, port = upstream.removeprefix("http://").rsplit(":", 1)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                spared = f'"{spare_table}"'.encode() in body
                fault = None if spared else proxy.plan.take(operation)
                if fault in ("reset", "timeout"):
                    if fault == "timeout":
                        time.sleep(client_read_timeout + 0.2)
                    self._reset()
                    return
                if fault is None or fault == "lost":
                    status, headers, answer = self._forward(body)
                    if fault == "lost":
                        self._reset()
                        return
                    self._answer(status, answer, headers)
                    return
                self._answer(*_fault_answer(fault, operation, json.loads(body or b"{}")))

            def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    connection.request("POST", self.path, body, headers)
                    response = connection.getresponse()
                    return response.status, dict(response.getheaders()), response.read()
                finally:
                    connection.close()

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _reset(self) -> None:
                # Linger 0: closing sends RST, as a dropped connection does.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _fault_answer(
    fault: Fault, operation: str, request: dict[str, Any]
) -> tuple[int, bytes, dict[str, str]]:
    json_type = {"Content-Type": "application/x-amz-json-1.0"}
    if fault == "unprocessed" and operation == "BatchWriteItem":
        body: dict[str, Any] = {"UnprocessedItems": request.get("RequestItems", {})}
        return 200, json.dumps(body).encode(), json_type
    if fault == "unprocessed" and operation == "BatchGetItem":
        body = {"Responses": {}, "UnprocessedKeys": request.get("RequestItems", {})}
        return 200, json.dumps(body).encode(), json_type
    if fault == "cancelled" and operation == "TransactWriteItems":
        reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (
            len(request.get("TransactItems", [])) - 1
        )
        body = {
            "__type": f"{_PREFIX}TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for specific "
            "reasons [TransactionConflict]",
            "CancellationReasons": reasons,
        }
        return 400, json.dumps(body).encode(), json_type
    if fault == "server-error":
        body = {"__type": f"{_PREFIX}InternalServerError", "message": "Internal server error"}
        return 500, json.dumps(body).encode(), json_type
    if fault == "throttling":
        body = {"__type": "com.amazon.coral.availability#ThrottlingException", "message": "slow"}
        return 400, json.dumps(body).encode(), json_type
    # "throttled", and the faults an operation cannot have (unprocessed on a PutItem, …):
    # the throttling every DynamoDB operation can answer.
    body = {
        "__type": f"{_PREFIX}ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    }
    return 400, json.dumps(body).encode(), json_type
