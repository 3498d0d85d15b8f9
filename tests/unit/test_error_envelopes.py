"""shared.http is the one place errors become responses: each API's envelope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from shared.errors import (
    BadRequest,
    Conflict,
    Contended,
    InProgress,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    UnprocessableContent,
)
from shared.http import ErrorRenderer, conversations_error, error_response, ingest_error


def rendered(exc: Exception, envelope: ErrorRenderer) -> tuple[int, dict[str, str], Any]:
    response = error_response(exc, "req-1", None, envelope)
    return response.status_code, dict(response.headers), json.loads(bytes(response.body))


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (BadRequest("bad", details={"promptId": "Required field"}), 400, "VALIDATION_ERROR"),
        (Unauthorized(), 401, "UNAUTHORIZED"),
        (NotFound("Conversation not found"), 404, "NOT_FOUND"),
        (HTTPException(404), 404, "NOT_FOUND"),
        (HTTPException(405), 405, "NOT_FOUND"),
        (Conflict("done"), 409, "CONFLICT"),
        (PayloadTooLarge("big"), 413, "PAYLOAD_TOO_LARGE"),
        (InProgress(), 409, "CONFLICT"),
        (UnprocessableContent("other body"), 422, "UNPROCESSABLE_CONTENT"),
        (StorageUnavailable(), 503, "SERVICE_UNAVAILABLE"),
        (Contended(), 503, "SERVICE_UNAVAILABLE"),
        (RuntimeError("secret"), 500, "INTERNAL"),
    ],
)
def test_conversations_envelope(exc: Exception, status: int, code: str) -> None:
    got_status, headers, body = rendered(exc, conversations_error)
    assert got_status == status
    assert headers["x-request-id"] == "req-1"
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert "secret" not in body["error"]["message"]
    if isinstance(exc, BadRequest):
        assert body["error"]["details"] == {"promptId": "Required field"}
    else:
        assert "details" not in body["error"]
    if status == 503:
        assert int(headers["retry-after"]) >= 1


def test_the_ingest_envelope_is_unchanged_and_ignores_details() -> None:
    status, headers, body = rendered(BadRequest("Event 0: bad", details={"x": "y"}), ingest_error)
    assert status == 400
    assert body == {
        "success": False,
        "count": 0,
        "message": "Event 0: bad",
        "requestId": "req-1",
        "retryable": False,
    }
    status, headers, body = rendered(StorageUnavailable(), ingest_error)
    assert (status, body["retryable"], headers["retry-after"]) == (503, True, "2")
