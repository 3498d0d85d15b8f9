"""The local server's HTTP edge over raw sockets: malformed, oversized and stalled requests get a
prompt answer — the API's JSON envelope wherever the request reaches Parley's code — or a clean
close; never a hang."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.gateway import MAX_REQUEST_BODY
from tests.e2e.client import request
from tests.e2e.conftest import READ_TIMEOUT, ServerProcess, start_server

pytestmark = pytest.mark.e2e

# A stalled request is answered after READ_TIMEOUT; anything slower than this is a hang.
PATIENCE = READ_TIMEOUT + 8


@dataclass
class RawReply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    closed: bool  # the server closed the connection after this answer

    def envelope(self, status: int) -> dict[str, Any]:
        assert self.status == status, (self.status, self.body)
        assert self.headers["content-type"] == "application/json", self.headers
        body: dict[str, Any] = json.loads(self.body)
        assert body["success"] is False
        assert body["count"] == 0
        assert body["retryable"] is False
        assert body["requestId"] == self.headers["x-amzn-requestid"]
        return body


def connect(server: ServerProcess) -> socket.socket:
    address = urlsplit(server.base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=PATIENCE)
    return sock


def read_reply(sock: socket.socket) -> RawReply | None:
    """The next final answer on the connection; None when it closes without one."""
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        if status != 100:  # skip the interim 100 Continue
            break
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    if "content-length" not in headers:  # only uvicorn's own answers: they end at the close
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                buffer += chunk
        return RawReply(status, headers, buffer, closed=True)
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buffer += chunk
    closed = headers.get("connection", "").lower() == "close"
    return RawReply(status, headers, buffer[:length], closed)


def exchange(server: ServerProcess, data: bytes) -> tuple[RawReply | None, float]:
    """Send raw bytes, read one answer; (answer, seconds it took)."""
    started = time.monotonic()
    with connect(server) as sock:
        # Refused mid-send: the answer may still be readable.
        with contextlib.suppress(ConnectionError):
            sock.sendall(data)
        try:
            reply = read_reply(sock)
        except ConnectionResetError:
            reply = None
        if reply is not None and reply.closed:
            assert_closed(sock)
    return reply, time.monotonic() - started


def assert_closed(sock: socket.socket) -> None:
    with contextlib.suppress(ConnectionResetError):
        assert sock.recv(1) == b""


def test_an_unknown_method_is_the_json_404(server: ServerProcess) -> None:
    reply, _ = exchange(server, b"BREW /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert reply is not None
    assert reply.envelope(404)["message"] == "No such route: check the method and path"


@pytest.mark.parametrize("length", [8193, 100_000])
def test_a_huge_url_is_a_json_414(server: ServerProcess, length: int) -> None:
    path = b"/v1/ingest?x=" + b"a" * (length - len(b"/v1/ingest?x="))
    reply, _ = exchange(server, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply is not None
    assert reply.envelope(414)["message"] == f"The URL is {length:,} bytes; the limit is 8,192"


def test_a_url_at_the_limit_is_routed(server: ServerProcess) -> None:
    path = b"/v1/nope?x=" + b"a" * (8192 - len(b"/v1/nope?x="))
    reply, _ = exchange(server, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply is not None
    reply.envelope(404)


def test_huge_headers_are_a_json_431(server: ServerProcess) -> None:
    head = b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    reply, _ = exchange(server, head)
    assert reply is not None
    assert "the limit is 10,240" in reply.envelope(431)["message"]


def test_absurd_headers_are_refused_by_uvicorn_and_closed(server: ServerProcess) -> None:
    # Past what uvicorn buffers for a request head, it answers itself (plain text) and closes.
    head = b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    reply, took = exchange(server, head)
    assert took < PATIENCE
    if reply is not None:  # the answer may be lost to the reset of the unread rest
        assert reply.status == 400
        assert reply.closed


@pytest.mark.parametrize(
    "chunk_size",
    [b"f" * 40, b"-1", b"zz"],
    ids=["absurd", "negative", "not-hex"],
)
def test_a_malformed_chunk_size_is_answered_and_closed(
    server: ServerProcess, chunk_size: bytes
) -> None:
    reply, took = exchange(
        server,
        b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk_size
        + b"\r\nabc\r\n",
    )
    assert took < PATIENCE
    assert reply is not None
    assert reply.status == 400  # uvicorn's own answer: the body never reaches Parley
    assert reply.closed


def test_a_huge_chunk_that_stops_arriving_is_a_json_408(server: ServerProcess) -> None:
    reply, took = exchange(
        server,
        b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"ffffffffffffffff\r\nabc",
    )
    assert reply is not None
    assert "stopped arriving" in reply.envelope(408)["message"]
    assert reply.closed
    assert READ_TIMEOUT <= took < PATIENCE


def test_a_body_shorter_than_its_content_length_is_a_json_408(server: ServerProcess) -> None:
    reply, took = exchange(
        server, b'POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"events"'
    )
    assert reply is not None
    assert reply.envelope(408)["message"] == (
        f"The request body stopped arriving: nothing for {READ_TIMEOUT:g} s after 9 bytes"
    )
    assert reply.closed
    assert READ_TIMEOUT <= took < PATIENCE


def test_expect_100_continue_without_a_body_is_a_json_408(server: ServerProcess) -> None:
    reply, _ = exchange(
        server,
        b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
        b"Expect: 100-continue\r\n\r\n",
    )
    assert reply is not None
    assert "after 0 bytes" in reply.envelope(408)["message"]
    assert reply.closed


def test_expect_100_continue_for_an_oversized_body_is_refused_before_it_is_sent(
    server: ServerProcess,
) -> None:
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(
            b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n"
            + f"Content-Length: {MAX_REQUEST_BODY + 1}\r\n".encode()
            + b"Expect: 100-continue\r\n\r\n"
        )
        first = sock.recv(12)
        assert first.startswith(b"HTTP/1.1 413"), first  # no 100 Continue first
    assert time.monotonic() - started < READ_TIMEOUT


def test_a_request_head_that_stops_arriving_is_closed(server: ServerProcess) -> None:
    # Nothing reached Parley's code: there is no request to answer, so the connection closes.
    reply, took = exchange(server, b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\n")
    assert reply is None
    assert READ_TIMEOUT <= took < PATIENCE


def test_a_keep_alive_connection_serves_several_requests(server: ServerProcess) -> None:
    ask = b"GET /v1/nope HTTP/1.1\r\nHost: x\r\n\r\n"
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(ask)
            reply = read_reply(sock)
            assert reply is not None
            reply.envelope(404)
            assert not reply.closed


def test_the_log_line_carries_the_request_id_and_the_reason(server: ServerProcess) -> None:
    reply = request(
        "POST",
        server.base_url + "/v1/ingest",
        key=server.keys["acme"],
        data='{"events": [{"conversation_id": "c", "role": "robot", "message": "hi"}]}',
    )
    assert reply.status == 400
    request_id = reply.body["requestId"]
    line = wait_for_line(server, request_id)
    assert line.startswith("POST /v1/ingest → 400 ("), line
    assert json.dumps(reply.body["message"], ensure_ascii=False)[:60] in line

    ok = request("GET", server.base_url + "/v1/conversations/c/records", key=server.keys["acme"])
    line = wait_for_line(server, ok.headers["x-request-id"])
    assert "→ 200 (" in line
    assert line.endswith(ok.headers["x-request-id"])  # no reason on a success


def wait_for_line(server: ServerProcess, text: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [line for line in server.lines if text in line]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no log line with {text!r}:\n{server.output[-3000:]}")


def test_stopping_answers_a_request_still_waiting_for_its_body() -> None:
    # A read timeout longer than uvicorn's grace period: the stop, not the timeout, answers.
    fresh = start_server(env_overrides={"PARLEY_READ_TIMEOUT_SECONDS": "60"})
    try:
        with connect(fresh) as sock:
            sock.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            wait_for_line(fresh, "Listening on")
            fresh.process.send_signal(signal.SIGTERM)
            reply = read_reply(sock)
        assert reply is not None
        assert reply.status == 503
        assert json.loads(reply.body)["retryable"] is True
    finally:
        code = fresh.stop(signal.SIGTERM)
    assert code == 0, fresh.output
    assert "Traceback" not in fresh.output, fresh.output


def test_an_invalid_gzip_body_leaves_no_task_pending(server: ServerProcess) -> None:
    reply = request(
        "POST",
        server.base_url + "/v1/ingest",
        key=server.keys["acme"],
        data=b"not gzip at all" * 50,
        headers={"Content-Encoding": "gzip"},
    )
    assert reply.status == 400
    wait_for_line(server, reply.body["requestId"])  # the request is over, its loop closed
    assert "Task was destroyed" not in server.output
