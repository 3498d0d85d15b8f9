"""The stored form of a record (shared/ingest/codec.py): the compressed form reads back byte for
byte, from boto3 (bytes) and from a Lambda stream event (base64), and items written before it
(JSON as a string) read the same everywhere: the records list, the summaries worker and the
lake writer."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from shared.ingest import codec
from shared.ingest.store import RecordStore, read_record, stored_text
from shared.ingest.summaries import record_change
from shared.lake.query import tenant_rows
from shared.lake.store import LakeStore, connect
from shared.lake.writer import RecordsLakeWorker

SEED_RECORDS: list[dict[str, Any]] = [
    {"id": "rec_1", "conversation_id": "conv-123", "message_source": "chat"},
    {
        "id": "rec_b7bcb0b156f1314a6f7aa14d1feff716",
        "conversation_id": "conv-abc123",
        "message_source": "chat",
        "environment": "production",
        "timestamp": "2025-01-20T14:35:00.123Z",
        "role": "user",
        "message": 'What is the capital of France? Ünïcödé, 日本語, emoji 🚀, \u2028 and \\ "',
        "metadata": {"nested": [1, 2.5, None, True, {"deep": "x" * 3000}]},
        "has_tool_use": False,
    },
]


@pytest.mark.parametrize("record", SEED_RECORDS)
def test_the_compressed_form_reads_back_exactly(record: dict[str, Any]) -> None:
    json_bytes = json.dumps(record, ensure_ascii=False).encode()
    value = codec.encode(json_bytes)
    assert value["B"][0] == codec.FORMAT_ZSTD_1
    assert codec.record_text(value) == json_bytes.decode()
    # As a Lambda stream event carries a binary attribute.
    assert codec.record_text({"B": base64.b64encode(value["B"]).decode()}) == json_bytes.decode()


def test_a_chat_record_of_about_a_kilobyte_fits_one_write_unit() -> None:
    words = "the customer asked whether the refund for order 4411 had been sent to the card "
    record = {**SEED_RECORDS[1], "message": (words * 14)[:1000], "metadata": {}}
    item = RecordStore.prepare("acme", record, 1_737_383_700_123_000_000, 0).item
    size = sum(
        len(name) + (len(v["B"]) if "B" in v else len(v["S"].encode())) for name, v in item.items()
    )
    assert size <= 1024


def test_the_old_string_form_reads_as_before() -> None:
    text = json.dumps(SEED_RECORDS[1])
    item = {"pk": {"S": "acme#c"}, "sk": {"S": "rec_1"}, "rec": {"S": text}}
    assert codec.record_text(item["rec"]) == text
    assert read_record(item, *stored_text(item)) == SEED_RECORDS[1]


@pytest.mark.parametrize(
    "value",
    [
        {"B": b""},
        {"B": b"\x02abc"},  # a format this version does not know
        {"B": codec.encode(b'{"id": "x"}')["B"][:-2]},  # cut short
        {"B": "not base64!"},
        {"N": "5"},
        None,
    ],
)
def test_what_is_neither_form_is_no_record_text(value: Any) -> None:
    assert codec.record_text(value) is None


def test_the_summaries_worker_reads_both_forms() -> None:
    def image(rec: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": {"S": "acme#c1"},
            "sk": {"S": "rec_1"},
            "ok": {"S": "2026-01-02T03:04:05.000Z#01767323045678000000#000000"},
            "env": {"S": "production"},
            "rec": rec,
        }

    record = {"id": "rec_1", "message_source": "email"}
    packed = codec.encode(json.dumps(record).encode())
    for rec in ({"S": json.dumps(record)}, {"B": base64.b64encode(packed["B"]).decode()}):
        change = record_change(
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"pk": {"S": "acme#c1"}, "sk": {"S": "rec_1"}},
                    "NewImage": image(rec),
                    "SequenceNumber": "111000000000000000001",
                    "ApproximateCreationDateTime": 1_767_323_045,
                },
            }
        )
        assert change is not None
        assert change.source == "email"


def test_the_lake_writer_reads_both_forms(tmp_path: Path) -> None:
    event = json.loads(Path("events/lake_records_worker.json").read_text())
    old_store, new_store = LakeStore(str(tmp_path / "old")), LakeStore(str(tmp_path / "new"))
    assert RecordsLakeWorker(old_store).handle(event) == {"batchItemFailures": []}
    packed = json.loads(json.dumps(event))
    for record in packed["Records"]:
        for name in ("NewImage", "OldImage"):
            image = record["dynamodb"].get(name)
            if image and "S" in image.get("rec", {}):
                raw = codec.encode(image["rec"]["S"].encode())["B"]
                image["rec"] = {"B": base64.b64encode(raw).decode()}
    assert RecordsLakeWorker(new_store).handle(packed) == {"batchItemFailures": []}
    con = connect()  # kept alive while the relations are read
    old_rows = sorted(tenant_rows(con, old_store, "acme").fetchall(), key=repr)
    assert old_rows
    assert sorted(tenant_rows(con, new_store, "acme").fetchall(), key=repr) == old_rows
