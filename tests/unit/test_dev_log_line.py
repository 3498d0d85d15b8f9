"""The local server's one log line per request: request id always, the reason on errors."""

from __future__ import annotations

import json

from devtools.asgi import error_reason, log_line
from devtools.gateway import HttpResponse


def answer(status: int, body: object, request_id: str = "req-1") -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, [("X-Request-Id", request_id)], raw)


def test_a_success_shows_the_request_id_and_no_reason() -> None:
    line = log_line("POST /v1/ingest", answer(200, {"success": True, "message": "x"}), 0.0042)
    assert line == "POST /v1/ingest → 200 (4 ms) req-1"


def test_an_error_shows_the_envelope_message() -> None:
    line = log_line("POST /v1/ingest", answer(400, {"message": 'Event 0: "role"'}), 0.001)
    assert line == 'POST /v1/ingest → 400 (1 ms) req-1 "Event 0: \\"role\\""'


def test_the_gateway_request_id_when_the_function_set_none() -> None:
    response = HttpResponse(404, [("x-amzn-RequestId", "gw-1")], b'{"message": "No such route"}')
    assert log_line("GET /x", response, 0).startswith("GET /x → 404 (0 ms) gw-1 ")


def test_an_error_object_message_is_read_generically() -> None:
    assert error_reason(json.dumps({"error": {"code": "x", "message": "nope"}}).encode()) == "nope"


def test_long_reasons_are_truncated() -> None:
    reason = error_reason(json.dumps({"message": "m" * 1000}).encode())
    assert reason is not None
    assert len(reason) == 160
    assert reason.endswith("…")


def test_bodies_without_a_message_give_no_reason() -> None:
    for body in (b"<html>", b"[1]", b'{"message": 3}', b'{"error": "flat"}', b""):
        assert error_reason(body) is None
