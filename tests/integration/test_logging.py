"""Logs are JSON lines with the request id and tenant id, and never carry keys or bodies."""

from __future__ import annotations

import gc
import io
import json
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devtools.gateway import LoadedFunction
from devtools.template import Function
from functions.authorizer.app import handler as authorizer
from functions.ingest.app import handler as ingest
from shared.logs import JsonFormatter
from tests.support import api_event, invoke

SECRET_MESSAGE = "the customer's card number is 4111 1111 1111 1111"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Everything the `parley` loggers write during the test, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    parley = logging.getLogger("parley")
    level = parley.level
    parley.addHandler(handler)
    parley.setLevel(logging.DEBUG)
    yield stream
    parley.removeHandler(handler)
    parley.setLevel(level)


def entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_ingest_logs_ids_but_not_the_body(
    dynamodb: Any, conversation_id: str, log_stream: io.StringIO
) -> None:
    body = {
        "events": [{"conversation_id": conversation_id, "role": "user", "message": SECRET_MESSAGE}]
    }
    answer = invoke(ingest, api_event("POST", "/v1/ingest", body=body, tenant="acme"))
    assert answer.status == 200
    assert SECRET_MESSAGE not in log_stream.getvalue()
    (entry,) = [e for e in entries(log_stream) if e["message"] == "ingested"]
    assert entry["request_id"] == answer.body["requestId"]
    assert entry["tenant_id"] == "acme"
    assert entry["records"] == 1


def test_authorizer_never_logs_keys(api_keys: dict[str, str], log_stream: io.StringIO) -> None:
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/POST/v1/ingest",
        "headers": {"Authorization": "Bearer prl_" + "n" * 43},
    }
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer(event, None)
    event["headers"] = {"Authorization": f"Bearer {api_keys['acme']}"}
    authorizer(event, None)
    assert [e["message"] for e in entries(log_stream)] == ["rejected API key"]
    assert "prl_" not in log_stream.getvalue()


def authorizer_event(authorization: str, request_id: str) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/POST/v1/ingest",
        "headers": {"Authorization": authorization},
        "requestContext": {"requestId": request_id},
    }


def test_authorizer_lines_carry_the_request_id(
    api_keys: dict[str, str], log_stream: io.StringIO
) -> None:
    # A warm authorizer: the previous call (another tenant, another request) leaves no trace.
    authorizer(authorizer_event(f"Bearer {api_keys['acme']}", str(uuid.uuid4())), None)
    request_id = str(uuid.uuid4())
    with pytest.raises(Exception, match="Unauthorized"):
        authorizer(authorizer_event("Bearer prl_" + "n" * 43, request_id), None)
    (entry,) = entries(log_stream)
    assert entry["message"] == "rejected API key"
    assert entry["request_id"] == request_id
    assert entry["tenant_id"] is None


def test_an_invalid_gzip_body_leaves_no_task_pending(
    dynamodb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Run the way the local server runs a function: on a worker thread, on a fresh event loop
    that is closed afterwards (the Lambda runtime's loop lives on, and would hide the bug)."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    function = LoadedFunction(
        Function("IngestFunction", "functions/ingest/", "app.handler"), ingest, 29, 1024
    )
    event = api_event(
        "POST", "/v1/ingest", raw_body=b"not gzip" * 100, headers={"Content-Encoding": "gzip"}
    )
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(function.invoke, event).result()
    gc.collect()  # what is left over is finalized now
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["message"].startswith("Request body is not valid gzip")
    assert "Task was destroyed" not in caplog.text
    assert "pending" not in caplog.text
