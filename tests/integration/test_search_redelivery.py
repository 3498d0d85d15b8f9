"""A stream redelivery never yields a duplicate search hit: the records stream's batch through
the real lake worker handler twice (before and after compaction), then GET /v1/search through
the real search handler."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from devtools.streams import wanted
from functions.ingest.app import handler as ingest_handler
from functions.lake_compaction.app import handler as compaction_handler
from functions.lake_records_worker.app import handler as records_lake_handler
from functions.search.app import handler as search_handler
from shared.settings import get_settings
from tests.integration.records_stream import StreamReader
from tests.integration.test_lake import RECORDS
from tests.support import LambdaContext, api_event, invoke


@pytest.fixture
def reader(dynamodb: Any) -> StreamReader:
    stream = StreamReader(get_settings().records_table)
    stream.read()
    return stream


def hits(tenant: str, q: str) -> list[tuple[str, str]]:
    answer = invoke(search_handler, api_event("GET", "/v1/search", tenant=tenant, query={"q": q}))
    assert answer.status == 200, answer.body
    return [(h["conversationId"], h["recordId"]) for h in answer.body["data"]]


def test_a_redelivered_stream_batch_leaves_one_hit(reader: StreamReader) -> None:
    tenant = f"redeliver-{uuid.uuid4().hex[:8]}"
    word = f"redelivered{uuid.uuid4().hex[:6]}"
    event = api_event(
        "POST",
        "/v1/ingest",
        tenant=tenant,
        body={"events": [{"conversation_id": "c-1", "role": "user", "message": word}]},
    )
    assert invoke(ingest_handler, event).status == 200
    batch = [r for r in reader.read() if wanted(RECORDS, r)]
    assert batch
    for _ in range(2):  # at-least-once: the same batch delivered twice
        assert records_lake_handler({"Records": batch}, LambdaContext()) == {
            "batchItemFailures": []
        }
    [hit] = hits(tenant, word)

    # Compacted (and indexed), then the old batch redelivered once more: still one hit.
    schedule = json.loads(Path("events/lake_compaction_schedule.json").read_text())
    compaction_handler(schedule, LambdaContext())
    records_lake_handler({"Records": batch}, LambdaContext())
    assert hits(tenant, word) == [hit]
