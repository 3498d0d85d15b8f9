"""The local server's HTTP edge: an ASGI app, served by uvicorn, in front of devtools.gateway.

It does what API Gateway's front end does before the gateway proper: refuses over-long URLs and
headers, reads the body up to the 10 MB payload limit (refusing a larger one the way the gateway
does), and gives up on a body that stops arriving. Then it runs `Gateways.handle` in a worker
thread: the handlers run Mangum, which drives each request on the thread's own event loop, so it
must not run on uvicorn's. Every refusal that reaches this code is answered by the gateway, in
the API's JSON envelope; only what uvicorn refuses before the app sees it (a malformed request
line, a request head over `MAX_HEAD_READ`, broken chunked encoding) keeps uvicorn's own answer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from devtools import openapi
from devtools.gateway import MAX_REQUEST_BODY, Gateways, HttpRequest, HttpResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# API Gateway (REST) quotas for the request head.
MAX_URL_BYTES = 8192
MAX_HEAD_BYTES = 10240  # the request line plus every header value
# What uvicorn buffers for a request head before refusing it itself: heads between
# MAX_HEAD_BYTES and this reach the app and get a JSON 431.
MAX_HEAD_READ = 64 * 1024
_STOPPING = (503, "The local server is stopping; send the request again once it is back")
_LOGGED_REASON_CHARS = 160
_LOGGED_PATH_CHARS = 200


class _ConnectionClosed(Exception):
    """The connection closed before the request was complete: the client went away, or uvicorn
    refused the rest of the request as malformed HTTP (and answered it itself)."""


@dataclass(frozen=True)
class _Body:
    data: bytes = b""
    too_large: bool = False
    refused: tuple[int, str] | None = None
    complete: bool = True  # read to its end: the connection can serve another request


class GatewayApp:
    """ASGI app: one HTTP request → one `Gateways.handle` call, logged in one line."""

    def __init__(self, gateway: Gateways, read_timeout: float) -> None:
        self.gateway = gateway
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off and websockets are not served
            return
        started = time.monotonic()
        if scope["method"] in ("GET", "HEAD") and scope["path"] == openapi.SERVED_AT:
            await self._openapi(scope, send)
            _log(f"{_shown_target(scope)} → 200")
            return
        refused = _head_refusal(scope)
        try:
            body = (
                _Body(refused=refused, complete=False)
                if refused
                else await self._body(scope, receive)
            )
        except _ConnectionClosed:
            _log(f"{_shown_target(scope)} → connection closed before the request was complete")
            return
        except asyncio.CancelledError:
            # uvicorn is stopping and gave up waiting for this body: answer rather than leave
            # the client a dropped connection (and uvicorn a traceback to print).
            body = _Body(refused=_STOPPING, complete=False)
        request = HttpRequest(
            method=scope["method"],
            raw_path=scope["raw_path"].decode("latin-1") or "/",
            query=scope["query_string"].decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=body.data,
            source_ip=(scope.get("client") or ("127.0.0.1", 0))[0],
            too_large=body.too_large,
            refused=body.refused,
        )
        if body.too_large or body.refused:  # the gateway answers these itself, calling no function
            response = self.gateway.handle(request)
        else:
            response = await anyio.to_thread.run_sync(self.gateway.handle, request)
        await _respond(send, response, head=scope["method"] == "HEAD", close=not body.complete)
        _log(log_line(_shown_target(scope), response, time.monotonic() - started))

    async def _openapi(self, scope: Scope, send: Send) -> None:
        """The API description: a dev server convenience, no route of the deployed APIs."""
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        body = openapi.spec_json(f"http://{host}" if host else None)
        response = HttpResponse(200, [("Content-Type", "application/json")], body)
        await _respond(send, response, head=scope["method"] == "HEAD", close=False)

    async def _body(self, scope: Scope, receive: Receive) -> _Body:
        """The body, up to MAX_REQUEST_BODY; past it the rest is read and dropped, so the client
        gets the 413 rather than a reset connection."""
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if (
            declared.isdigit()
            and int(declared) > MAX_REQUEST_BODY
            and headers.get(b"expect", b"").lower() == b"100-continue"
        ):
            # Refuse before the client sends it (uvicorn sends 100 Continue on the first
            # receive(), so there is none).
            return _Body(too_large=True, complete=False)
        parts: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                async with asyncio.timeout(self.read_timeout):
                    message = await receive()
            except TimeoutError:
                if size > MAX_REQUEST_BODY:
                    return _Body(too_large=True, complete=False)
                refusal = (
                    408,
                    f"The request body stopped arriving: nothing for {self.read_timeout:g} s "
                    f"after {size:,} bytes",
                )
                return _Body(refused=refusal, complete=False)
            if message["type"] == "http.disconnect":
                raise _ConnectionClosed
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_REQUEST_BODY:
                parts.append(chunk)
            more = bool(message.get("more_body", False))
        if size > MAX_REQUEST_BODY:
            return _Body(too_large=True)
        return _Body(b"".join(parts))


def _head_refusal(scope: Scope) -> tuple[int, str] | None:
    target = len(scope["raw_path"]) + (
        len(scope["query_string"]) + 1 if scope["query_string"] else 0
    )
    if target > MAX_URL_BYTES:
        return 414, f"The URL is {target:,} bytes; the limit is {MAX_URL_BYTES:,}"
    request_line = len(scope["method"]) + 1 + target + len(" HTTP/1.1")
    head = request_line + sum(len(value) for _, value in scope["headers"])
    if head > MAX_HEAD_BYTES:
        return 431, (
            f"The request line and header values are {head:,} bytes; the limit is "
            f"{MAX_HEAD_BYTES:,}"
        )
    return None


async def _respond(send: Send, response: HttpResponse, *, head: bool, close: bool) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if close:  # the rest of the request was not read: this connection cannot serve another
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


# --- the log line ----------------------------------------------------------------------------


def log_line(target: str, response: HttpResponse, elapsed: float) -> str:
    """`POST /v1/ingest → 400 (3 ms) <request id> "<reason>"`: the reason only for errors."""
    request_id = response.header("X-Request-Id") or response.header("x-amzn-RequestId") or "-"
    line = f"{target} → {response.status} ({elapsed * 1000:.0f} ms) {request_id}"
    if response.status >= 400 and (reason := error_reason(response.body)):
        line += " " + json.dumps(reason, ensure_ascii=False)
    return line


def error_reason(body: bytes) -> str | None:
    """The short reason of an error answer, whatever the API's envelope: a top-level
    `message`, or `error.message`; truncated."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    message = data.get("message")
    if message is None and isinstance(error, dict):
        message = error.get("message")
    if not isinstance(message, str):
        return None
    if len(message) > _LOGGED_REASON_CHARS:
        message = message[: _LOGGED_REASON_CHARS - 1] + "…"
    return message


def _shown_target(scope: Scope) -> str:
    target = scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    if len(target) > _LOGGED_PATH_CHARS:
        target = target[: _LOGGED_PATH_CHARS - 1] + "…"
    return f"{scope['method']} {target}"


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")


# --- uvicorn's protocol, with a deadline for the request head ----------------------------------


class _HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for the request line and headers: uvicorn has
    none for a connection's first request, so a client that stops mid-head would hold its
    connection open forever. The connection is closed (nothing reached the app to answer)."""

    head_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def on_response_complete(self) -> None:
        self._await_head()  # before super(): it may take a pipelined request's head at once
        super().on_response_complete()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE and self._head_timer is not None:
            self._head_timer.cancel()  # the head is in
            self._head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol_class(head_timeout: float) -> type[H11Protocol]:
    """The protocol class for uvicorn.Config(http=…), with this head deadline."""
    return type("HeadDeadlineProtocol", (_HeadDeadlineProtocol,), {"head_timeout": head_timeout})
