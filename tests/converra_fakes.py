"""Offline stand-ins around the real `converra` SDK: an HTTP server on 127.0.0.1 that records
what it is sent and answers from a table, including OpenAI's chat-completions route so a real
`openai` client wrapped by the SDK can run without the network."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPENAI_PATH = "/openai/v1/chat/completions"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any


def chat_completion(text: str | None, model: str, tool_call: bool = False) -> dict[str, Any]:
    """An OpenAI ChatCompletion: a text reply, or (tool_call) only a call to `lookup_order`."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_call:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup_order", "arguments": '{"order": "456"}'},
            }
        ]
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_call else "stop",
            }
        ],
        "usage": {"prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28},
    }


Answer = Callable[[Seen], tuple[int, Any]]


@dataclass
class FakeServer:
    """`answers` maps "METHOD /path" to a function of the request giving (status, JSON body)."""

    url: str
    answers: dict[str, Answer]
    seen: list[Seen] = field(default_factory=list)

    def sent(self, method: str, path: str) -> list[Any]:
        return [s.body for s in self.seen if s.method == method and s.path == path]


@contextmanager
def fake_server(answers: dict[str, Answer]) -> Iterator[FakeServer]:
    holder: list[FakeServer] = []

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            seen = Seen(
                self.command,
                path,
                {k.lower(): v for k, v in self.headers.items()},
                json.loads(raw) if raw else None,
            )
            fake = holder[0]
            fake.seen.append(seen)
            answer = fake.answers.get(f"{self.command} {path}")
            status, body = answer(seen) if answer else (404, {"error": {"code": "NOT_FOUND"}})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = httpd.server_address[:2]
    holder.append(FakeServer(f"http://{host!s}:{port}", answers))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
