"""RecordsRetentionDays: records carry `exp` (DynamoDB TTL) that many days after their last
write, only when it is set; what the TTL removes leaves the records table, never the lake."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from devtools.template import load_template
from shared.dynamo import Deadline, Item, ParallelBatchWriter
from shared.ingest.store import RecordStore
from shared.lake.writer import record_rows
from shared.settings import Settings

NOW = 1_767_323_045.75
DAY = 86_400


class Captured(ParallelBatchWriter):
    def __init__(self) -> None:
        self.items: list[Item] = []

    def put_items(self, table: str, items: Sequence[Item], deadline: Deadline) -> None:
        self.items += items


def stored(retention_days: int) -> list[Item]:
    writer = Captured()
    store = RecordStore(None, "t", writer, retention_days, clock=lambda: NOW)  # type: ignore[arg-type]
    record = {
        "id": "rec_1",
        "conversation_id": "c1",
        "timestamp": "2026-01-02T03:04:05.000Z",
        "environment": "production",
        "role": "user",
        "message": "the customer asked about order 4411 " * 25,
    }
    store.put([RecordStore.prepare("acme", record, 1, 0)], Deadline(5))
    return writer.items


def test_no_retention_writes_no_expiry() -> None:
    (item,) = stored(0)
    assert "exp" not in item


def test_a_retention_expires_records_that_many_days_after_their_write() -> None:
    (item,) = stored(30)
    assert item["exp"] == {"N": str(int(NOW) + 30 * DAY)}
    # With `exp`, a 1 KB record stays within one write unit.
    size = sum(
        len(k) + (len(v["B"]) if "B" in v else len(v.get("S", v.get("N", "")).encode()))
        for k, v in item.items()
    )
    assert size <= 1024


def test_the_setting_and_the_template_parameter() -> None:
    assert Settings().records_retention_days == 0
    assert Settings(records_retention_days=90).records_retention_days == 90
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings(records_retention_days=-1)
    template = load_template()
    assert template["Parameters"]["RecordsRetentionDays"]["Default"] == 0
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PARLEY_RECORDS_RETENTION_DAYS"] == {"Ref": "RecordsRetentionDays"}
    table = template["Resources"]["RecordsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": "exp",
        "Enabled": {"Fn::If": ["RecordsExpire", True, False]},
    }
    assert table["TableClass"] == {"Ref": "RecordsTableClass"}
    assert template["Parameters"]["RecordsTableClass"]["Default"] == "STANDARD"


def removal() -> dict[str, Any]:
    event = json.loads(Path("events/lake_records_worker.json").read_text())
    (remove,) = [r for r in event["Records"] if r["eventName"] == "REMOVE"]
    return remove  # type: ignore[no-any-return]


def test_a_removal_by_the_ttl_stays_in_the_lake_and_any_other_is_a_tombstone() -> None:
    by_ttl = removal() | {
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    }
    assert record_rows(by_ttl) == []
    (tombstone,) = record_rows(removal())
    assert tombstone.deleted
