"""Keys and bodies are never logged, at any level: a request carrying a key and a canary in its
body, through both APIs (success and refusal), leaves neither in any log record."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from functions.conversations_create.app import handler as create
from functions.ingest.app import handler as ingest
from shared.logs import JsonFormatter
from tests.support import api_event, invoke

CANARY = "canary-7f3a9c-should-never-be-logged"
KEY = "prl_" + "S" * 43


@pytest.fixture
def every_log_line() -> Iterator[list[str]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    logger = logging.getLogger("parley")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_no_key_or_body_in_any_log_record(every_log_line: list[str], dynamodb: Any) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    good = {"events": [{"conversation_id": "c-secrecy", "role": "user", "message": CANARY}]}
    bad = {"events": [{"conversation_id": "c-secrecy", "role": CANARY, "message": CANARY}]}
    answers = [
        invoke(ingest, api_event("POST", "/v1/ingest", body=good, headers=headers)),
        invoke(ingest, api_event("POST", "/v1/ingest", body=bad, headers=headers)),
        invoke(ingest, api_event("POST", "/v1/ingest", raw_body=CANARY.encode(), headers=headers)),
        invoke(
            create,
            api_event(
                "POST",
                "/api/v1/conversations",
                body={"promptId": "p", "content": f"User: {CANARY}"},
                headers=headers,
            ),
        ),
        invoke(
            create,
            api_event("POST", "/api/v1/conversations", body={"content": CANARY}, headers=headers),
        ),
    ]
    assert [a.status for a in answers] == [200, 400, 400, 200, 400]
    assert every_log_line, "nothing was logged: the check would prove nothing"
    assert not [line for line in every_log_line if CANARY in line or KEY in line]
