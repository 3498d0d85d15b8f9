"""Ordered reads of records whatever the `by_order` index projects (RecordsIndexProjection):
KEYS (the default: keys and env, records read from the table by key) or ALL (stacks created
before). Real RecordStore under moto, which projects index results as DynamoDB does."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from devtools.template import create_table_requests, load_template
from shared import dynamo
from shared.dynamo import Deadline, ParallelBatchWriter
from shared.ingest.records import Record
from shared.ingest.store import RecordStore
from tests.conftest import TABLE_PREFIX

RECORDS = 230  # more than two BatchGetItem calls of 100


def records_table(dynamodb: Any, projection: dict[str, Any]) -> str:
    (request,) = [
        r
        for r in create_table_requests(load_template(), TABLE_PREFIX)
        if "Records" in r["TableName"]
    ]
    request = copy.deepcopy(request)
    request["TableName"] = f"records-{uuid.uuid4().hex[:8]}"
    (index,) = request["LocalSecondaryIndexes"]
    index["Projection"] = projection
    dynamodb.create_table(**request)
    return str(request["TableName"])


def record(i: int) -> Record:
    return {
        "id": f"rec_{i:04d}",
        "conversation_id": "conv",
        "environment": "staging" if i % 3 == 0 else "production",
        # Sort keys (record ids) run against the order (timestamps) to tell the two apart.
        "timestamp": f"2024-01-01T00:{(RECORDS - i) // 60:02d}:{(RECORDS - i) % 60:02d}.000Z",
        "message": f"turn {i}",
    }


@pytest.fixture(
    scope="module",
    params=[{"ProjectionType": "INCLUDE", "NonKeyAttributes": ["env"]}, {"ProjectionType": "ALL"}],
    ids=["keys", "all"],
)
def store(request: pytest.FixtureRequest, dynamodb: Any) -> RecordStore:
    client = dynamo.default_client()
    table = records_table(dynamodb, request.param)
    store = RecordStore(client, table, ParallelBatchWriter(client, 4))
    store.put([RecordStore.prepare("acme", record(i), 1, i) for i in range(RECORDS)], Deadline(30))
    return store


def listed(store: RecordStore, limit: int, environment: str | None = None) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page, cursor = store.list(
            "acme",
            "conv",
            limit=limit,
            cursor=cursor,
            environment=environment,
            deadline=Deadline(30),
        )
        ids += [r["id"] for r in page]
        if cursor is None:
            return ids


def test_records_come_whole_in_timestamp_order(store: RecordStore) -> None:
    page, cursor = store.list(
        "acme", "conv", limit=1000, cursor=None, environment=None, deadline=Deadline(30)
    )
    assert cursor is None
    assert page == [record(i) for i in reversed(range(RECORDS))]


def test_pages_and_the_environment_filter_keep_the_order(store: RecordStore) -> None:
    expected = [f"rec_{i:04d}" for i in reversed(range(RECORDS))]
    assert listed(store, limit=7) == expected
    assert listed(store, limit=50, environment="staging") == [
        r for r in expected if int(r[4:]) % 3 == 0
    ]


def test_a_record_gone_between_index_and_table_is_skipped(store: RecordStore) -> None:
    index_items = [
        {"pk": {"S": "acme#conv"}, "sk": {"S": sk}, "ok": {"S": "x"}}
        for sk in ("rec_0001", "rec_gone", "rec_0002")
    ]
    complete = store._with_records(index_items, Deadline(5))
    assert [i["sk"]["S"] for i in complete] == ["rec_0001", "rec_0002"]
    assert all("rec" in i for i in complete)
