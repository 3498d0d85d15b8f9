"""Test helpers for webhooks: a local HTTP receiver, fake DNS answers, queue reading."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic()


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every request. `answers` are served in order
    (status, seconds to wait first); once used up, `default` applies."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, float]] = field(default_factory=list)
    default: tuple[int, float] = (204, 0.0)
    headers: dict[str, str] = field(default_factory=dict)  # extra answer headers
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/parley"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.received)} of {count} requests arrived")
                self._arrived.wait(left)
        return list(self.received)

    def _answer(self) -> tuple[int, float]:
        with self._arrived:
            return self.answers.pop(0) if self.answers else self.default

    def _record(self, request: Received) -> None:
        with self._arrived:
            self.received.append(request)
            self._arrived.notify_all()


def start_receiver() -> Receiver:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver._record(Received(self.path, headers, body, time.monotonic()))
            status, wait = receiver._answer()
            if wait:
                time.sleep(wait)
            try:
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up (timeout)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 64  # the default 5 resets a batch's parallel deliveries

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a sender that timed out and hung up: expected in these tests

    server = Server(("127.0.0.1", 0), Handler)
    receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    return receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


# Public addresses for names the tests use (no network: resolution is faked).
PUBLIC_IP = "93.184.215.14"
FAKE_DNS = {
    "hooks.example.com": [PUBLIC_IP],
    "internal.example.com": ["10.1.2.3"],
    "mixed.example.com": [PUBLIC_IP, "192.168.0.10"],
    "metadata.example.com": ["169.254.169.254"],
    "v6-metadata.example.com": ["fd00:ec2::254"],
    "cgnat.example.com": ["100.64.12.34"],
    "localhost": ["127.0.0.1", "::1"],
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """socket.getaddrinfo answers from FAKE_DNS (editable per test); other names fail."""
    answers = {name: list(ips) for name, ips in FAKE_DNS.items()}

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port, 0, 0) if ":" in ip else (ip, port),
            )
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message now visible on the queue (deleted as read)."""
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def queued(sqs: Any, *tenants: str) -> list[dict[str, Any]]:
    """The delivery queue's messages of these tenants, parsed (others' are read and dropped:
    tests share the queue, and a retried message of an earlier test may reappear)."""
    found = [json.loads(m["Body"]) for m in drain(sqs, os.environ["WEBHOOK_QUEUE_URL"])]
    return [m for m in found if m.get("tenant") in tenants]
