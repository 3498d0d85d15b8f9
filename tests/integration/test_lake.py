"""The analytics lake: records and conversations written by the real handlers, the tables'
streams read from moto, passed through the template's filters and the lake workers' real
handlers, the Parquet read back with DuckDB (shared/lake/)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import duckdb
import pytest

from devtools.streams import StreamMapping, stream_mappings, wanted
from devtools.template import load_template
from functions.ingest.app import handler as ingest_handler
from functions.ingest_multi.app import handler as multi_handler
from functions.ingest_vogent_raw.app import handler as vogent_handler
from functions.insights_worker.app import handler as insights_handler
from functions.lake_compaction.app import handler as compaction_handler
from functions.lake_conversations_worker.app import handler as conversations_lake_handler
from functions.lake_records_worker.app import handler as records_lake_handler
from shared import services
from shared.errors import StorageUnavailable
from shared.lake.query import tenant_rows
from shared.lake.store import LakeStore, connect
from shared.settings import get_settings
from tests.integration.conversations import append, create
from tests.integration.records_stream import StreamReader
from tests.integration.test_otel_http import export
from tests.otel_support import moda_chat
from tests.support import LambdaContext, api_event, invoke

MAPPINGS = {m.function.logical_id: m for m in stream_mappings(load_template())}
RECORDS = MAPPINGS["LakeRecordsWorkerFunction"]
CONVERSATIONS = MAPPINGS["LakeConversationsWorkerFunction"]
INSIGHTS = MAPPINGS["InsightsWorkerFunction"]


@pytest.fixture
def records(dynamodb: Any) -> StreamReader:
    reader = StreamReader(get_settings().records_table)
    reader.read()
    return reader


@pytest.fixture
def conversations(dynamodb: Any) -> StreamReader:
    reader = StreamReader(get_settings().conversations_table)
    reader.read()
    return reader


@pytest.fixture
def tenant() -> str:
    return f"lake-{uuid.uuid4().hex[:10]}"


def deliver(reader: StreamReader, mapping: StreamMapping, handler: Any) -> list[dict[str, Any]]:
    """The new stream records the mapping's filter passes, through the handler in batches;
    the batches delivered."""
    batch = [r for r in reader.read() if wanted(mapping, r)]
    batches = [batch[i : i + mapping.batch_size] for i in range(0, len(batch), mapping.batch_size)]
    for records in batches:
        assert handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    return batches


def rows(tenant: str, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
    con = connect()
    relation = tenant_rows(con, services.lake_store(), tenant, since, until)
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.order("seq").fetchall()]


def post(handler: Any, path: str, tenant: str, body: Any) -> None:
    answer = invoke(handler, api_event("POST", path, body=body, tenant=tenant))
    assert answer.status == 200, answer.body


def test_every_ingest_source_becomes_rows_partitioned_by_tenant_and_date(
    records: StreamReader, tenant: str
) -> None:
    conv = "c-" + uuid.uuid4().hex[:8]
    post(
        ingest_handler,
        "/v1/ingest",
        tenant,
        {
            "environment": "staging",
            "events": [
                {
                    "conversation_id": conv,
                    "role": "user",
                    "message": "I want a refund",
                    "timestamp": "2026-03-01T10:00:00Z",
                    "metadata": {"plan": "pro"},
                },
                {
                    "conversation_id": conv,
                    "role": "assistant",
                    "model": "gpt-4o",
                    "provider": "openai",
                    "input_tokens": 7,
                    "output_tokens": 3,
                    "content": [
                        {"type": "text", "text": "Sure."},
                        {
                            "type": "tool_use",
                            "tool_use_id": "t1",
                            "tool_name": "refund",
                            "input": {"order": 42},
                        },
                    ],
                    "timestamp": "2026-03-01T10:00:01Z",
                },
                {
                    "messageType": "channel",
                    "id": "ch-1",
                    "conversationId": conv,
                    "role": "user",
                    "message": "via whatsapp",
                    "timestamp": "2026-03-02T09:00:00Z",
                },
                {
                    "messageType": "tool_call",
                    "id": "tc-1",
                    "conversationId": conv,
                    "name": "lookup_order",
                    "toolCallRequest": {"order_id": "A-9"},
                    "toolCallResponse": {"status": "shipped"},
                    "timestamp": "2026-03-02T09:00:01Z",
                },
                {
                    "messageType": "email",
                    "id": "em-1",
                    "conversationId": conv,
                    "role": "user",
                    "subject": "Invoice question",
                    "body": "Where is my invoice?",
                    "from": "a@example.com",
                    "to": ["b@example.com"],
                    "timestamp": "2026-03-02T09:00:02Z",
                },
                {
                    "messageType": "call",
                    "id": "call-1",
                    "conversationId": conv,
                    "transcript": [{"role": "user", "content": "calling about delivery"}],
                    "timestamp": "2026-03-02T09:00:03Z",
                },
            ],
        },
    )
    batches = deliver(records, RECORDS, records_lake_handler)
    got = {row["source"]: row for row in rows(tenant)}
    assert set(got) == {"chat", "channel", "tool_call", "email", "call"}
    chat = [r for r in rows(tenant) if r["source"] == "chat"]
    assert [r["text"] for r in chat] == ["I want a refund", "Sure.\nrefund order: 42"]
    assert chat[0]["environment"] == "staging"
    assert json.loads(chat[0]["metadata"]) == {"plan": "pro"}
    assistant = chat[1]
    assert (assistant["model"], assistant["provider"], assistant["input_tokens"]) == (
        "gpt-4o",
        "openai",
        7,
    )
    assert got["tool_call"]["text"] == "lookup_order\norder_id: A-9\nstatus: shipped"
    assert got["email"]["text"] == "Invoice question\nWhere is my invoice?"
    assert "calling about delivery" in got["call"]["text"]
    assert all(r["tenant_id"] == tenant and r["conversation_id"] == conv for r in got.values())
    # Hive partitions: tenant, then the UTC date of each row's timestamp.
    folders = {p.parent.relative_to(lake_root()).as_posix() for p in tenant_files(tenant)}
    assert folders == {f"tenant={tenant}/date=2026-03-01", f"tenant={tenant}/date=2026-03-02"}
    # The date range prunes partitions.
    assert {r["source"] for r in rows(tenant, since="2026-03-02")} == {
        "channel",
        "tool_call",
        "email",
        "call",
    }
    # A redelivered stream batch writes its files again, yet readers see each row once.
    for batch in batches:
        records_lake_handler({"Records": batch}, LambdaContext())
    assert len(rows(tenant)) == 6


def test_multi_vogent_and_otel_records(records: StreamReader, tenant: str) -> None:
    post(
        multi_handler,
        "/v1/ingest/multi",
        tenant,
        {
            "events": [
                {
                    "messageType": "email",
                    "id": "m-1",
                    "inReplyTo": "thread-1",
                    "subject": "Hello",
                    "body": "Bonjour, café?",
                    "from": "a@example.com",
                    "to": ["b@example.com"],
                }
            ]
        },
    )
    post(
        vogent_handler,
        "/v1/ingest/vogent-raw",
        tenant,
        {
            "events": [
                {
                    "id": "vcall-1",
                    "conversationId": "vconv",
                    "transcript": [
                        {"speaker": "HUMAN", "text": "我想要退款"},
                        {
                            "speaker": "AI",
                            "text": "checking",
                            "functionCalls": [{"name": "find_order", "arguments": {"id": 7}}],
                        },
                    ],
                }
            ]
        },
    )
    answer = export([moda_chat("otel-conv", [("user", "hi otel")], "hello back")], tenant=tenant)
    assert answer.status == 200
    deliver(records, RECORDS, records_lake_handler)
    by_conversation: dict[str, list[dict[str, Any]]] = {}
    for row in rows(tenant):
        by_conversation.setdefault(row["conversation_id"], []).append(row)
    assert [(r["source"], r["text"]) for r in by_conversation["thread-1"]] == [
        ("email", "Hello\nBonjour, café?")
    ]
    assert [(r["source"], r["role"], r["text"]) for r in by_conversation["vconv"]] == [
        ("call", "user", "我想要退款"),
        ("call", "assistant", "checking"),
        ("tool_call", "assistant", "find_order\nid: 7"),
    ]
    otel = by_conversation["otel-conv"]
    assert {r["source"] for r in otel} == {"otel"}
    assert sorted(r["text"] for r in otel) == ["hello back", "hi otel"]


def test_conversations_api_messages_runs_status_and_insights(
    conversations: StreamReader, tenant: str
) -> None:
    created = create(
        {
            "promptId": "p-1",
            "status": "active",
            "metadata": {"team": "support"},
        },
        tenant,
    )
    assert created.status in (200, 201), created.body
    conv = created.body["id"]
    appended = append(
        conv,
        {
            "messages": [
                {"role": "user", "content": "my parcel never came"},
                {
                    "role": "assistant",
                    "content": "Let me check",
                    "model": "gpt-4o-mini",
                    "usage": {"promptTokens": 11, "completionTokens": 4},
                    "latencyMs": 120,
                    "toolCalls": [{"name": "track", "arguments": {"parcel": "P1"}}],
                },
            ],
            "status": "completed",
        },
        tenant,
    )
    assert appended.status == 200, appended.body
    stream = conversations.read()
    # The insights worker analyzes the completed conversation (its META changes again) …
    for record in stream:
        if wanted(INSIGHTS, record):
            insights_handler({"Records": [record]}, LambdaContext())
    batch = [r for r in stream + conversations.read() if wanted(CONVERSATIONS, r)]
    assert conversations_lake_handler({"Records": batch}, LambdaContext()) == {
        "batchItemFailures": []
    }
    got = rows(tenant)
    assert [(r["record_id"], r["role"], r["text"]) for r in got] == [
        (f"{conv}:0", "user", "my parcel never came"),
        (f"{conv}:1", "assistant", "Let me check\nname: track arguments: parcel: P1"),
    ]
    assistant = got[1]
    assert assistant["source"] == "conversations"
    assert assistant["status"] == "completed"
    assert (assistant["input_tokens"], assistant["output_tokens"], assistant["latency_ms"]) == (
        11,
        4,
        120,
    )
    assert json.loads(assistant["metadata"]) == {"team": "support"}
    # … and the rows carry its insights (a newer version of the same rows, not new rows).
    assert all(r["insights"] and "sentiment" in json.loads(r["insights"]) for r in got)
    # Redelivered: the same versions again, still two rows.
    conversations_lake_handler({"Records": batch}, LambdaContext())
    assert len(rows(tenant)) == 2


def test_converra_runs_are_conversations_rows(conversations: StreamReader, tenant: str) -> None:
    from tests.integration.test_runs_http import run_id_of, user

    run_id = run_id_of({"agentName": "Bot", "messages": [user("Go to checkout")]}, tenant)
    deliver(conversations, CONVERSATIONS, conversations_lake_handler)
    assert [(r["conversation_id"], r["text"]) for r in rows(tenant)] == [(run_id, "Go to checkout")]


def test_remove_becomes_a_tombstone_and_compaction_drops_it(
    records: StreamReader, tenant: str, dynamodb: Any
) -> None:
    events = [
        {"conversation_id": "gone", "role": "user", "message": f"m{i}", "id": f"g{i}"}
        for i in range(3)
    ]
    post(ingest_handler, "/v1/ingest", tenant, {"events": events})
    deliver(records, RECORDS, records_lake_handler)
    (victim, *_) = rows(tenant)
    dynamodb.delete_item(
        TableName=get_settings().records_table,
        Key={"pk": {"S": f"{tenant}#gone"}, "sk": {"S": victim["record_id"]}},
    )
    deliver(records, RECORDS, records_lake_handler)
    assert victim["record_id"] not in {r["record_id"] for r in rows(tenant)}
    assert len(rows(tenant)) == 2
    hooked: list[tuple[str, dict[str, str]]] = []
    compactor = services.lake_compactor()
    compactor.on_compacted = lambda *args: hooked.append(args)
    try:
        report = compaction_handler(
            json.loads(Path("events/lake_compaction_schedule.json").read_text()), LambdaContext()
        )
    finally:
        compactor.on_compacted = None
    assert report["failed"] == []
    (only,) = tenant_files(tenant)
    assert only.name.startswith("compacted-")
    assert [h for h in hooked if h[0] == tenant] == [(tenant, {only.parent.name[5:]: str(only)})]
    # The young tombstone stays in the compacted file (a late redelivery must meet it) …
    con = duckdb.connect()
    (count, deleted) = con.execute(
        f"SELECT count(*), count(*) FILTER (deleted) FROM read_parquet('{only}')"
    ).fetchone() or (0, 0)
    assert (count, deleted) == (3, 1)
    assert len(rows(tenant)) == 2


def test_compaction_merges_dedupes_and_drops_old_tombstones(tmp_path: Path) -> None:
    from shared.lake.compaction import TOMBSTONE_RETENTION_SECONDS, Compactor
    from shared.lake.writer import RecordsLakeWorker

    store = LakeStore(str(tmp_path))
    worker = RecordsLakeWorker(store)
    event = json.loads(Path("events/lake_records_worker.json").read_text())
    for _ in range(3):  # the same batch delivered three times: three files
        assert worker.handle(event) == {"batchItemFailures": []}
    assert len(store.files()) == 3
    now = event["Records"][0]["dynamodb"]["ApproximateCreationDateTime"]
    later = now + TOMBSTONE_RETENTION_SECONDS + 3600  # every tombstone of the batch is old then
    report = Compactor(store, clock=lambda: later).run()
    (compacted,) = store.files()
    assert report.partitions == 1
    assert report.files_merged == 3
    con = connect()
    alive = con.sql(f"SELECT record_id, deleted FROM read_parquet('{store.uri_of(compacted)}')")
    found = alive.fetchall()
    assert len(found) == len({r for r, _ in found})
    assert not any(d for _, d in found)
    assert report.rows_written == len(found) == len(rows_of(store, "acme"))
    # Nothing new: nothing to compact.
    assert Compactor(store).run().partitions == 0


def rows_of(store: LakeStore, tenant: str) -> list[Any]:
    con = connect()  # kept alive while the relation is read
    return tenant_rows(con, store, tenant).fetchall()


def test_a_failed_write_is_a_batch_item_failure_and_a_bad_record_is_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shared.lake.writer import RecordsLakeWorker

    store = LakeStore(str(tmp_path))
    event = json.loads(Path("events/lake_records_worker.json").read_text())

    def failing(rows: Any) -> list[str]:
        raise StorageUnavailable("S3 is down")

    monkeypatch.setattr(store, "write_rows", failing)
    first = event["Records"][0]["dynamodb"]["SequenceNumber"]
    assert RecordsLakeWorker(store).handle(event) == {
        "batchItemFailures": [{"itemIdentifier": first}]
    }
    monkeypatch.undo()
    broken = json.loads(json.dumps(event["Records"][0]))
    broken["dynamodb"]["NewImage"]["rec"]["S"] = "{not json"
    answer = RecordsLakeWorker(store).handle({"Records": [broken, *event["Records"][1:]]})
    assert answer == {"batchItemFailures": []}
    # The rest went on: the second message, the first again by its MODIFY, the email removed.
    assert sorted(r[2] for r in rows_of(store, "acme")) == [
        "rec_50120baf5c7195ccf7073e4d92e982a0",
        "rec_b7bcb0b156f1314a6f7aa14d1feff716",
    ]


def lake_root() -> Path:
    return Path(get_settings().lake_uri) / "records"


def tenant_files(tenant: str) -> list[Path]:
    return sorted((lake_root() / f"tenant={tenant}").rglob("*.parquet"))


def _lake_files(tenant: str, **query: str) -> Any:
    from functions.lake_files.app import handler as files_handler

    event = api_event("GET", "/v1/lake/files", tenant=tenant, query=query or None)
    return invoke(files_handler, event)


def test_lake_files_lists_only_the_callers_partitions_in_range(
    records: StreamReader, tenant: str
) -> None:
    events = [
        {"conversation_id": "f", "role": "user", "message": day, "timestamp": f"{day}T08:00:00Z"}
        for day in ("2026-04-01", "2026-04-02", "2026-04-03")
    ]
    post(ingest_handler, "/v1/ingest", tenant, {"events": events})
    post(ingest_handler, "/v1/ingest", tenant + "x", {"events": events})  # another tenant
    deliver(records, RECORDS, records_lake_handler)
    answer = _lake_files(tenant, since="2026-04-02", until="2026-04-03")
    assert answer.status == 200, answer.body
    assert answer.body["nextCursor"] is None
    files = answer.body["data"]
    assert [f["date"] for f in files] == ["2026-04-02", "2026-04-03"]
    for file in files:
        path = Path(url2pathname(urlsplit(file["url"]).path))
        assert path.is_relative_to(lake_root() / f"tenant={tenant}")
        assert path.stat().st_size == file["bytes"]
    # Paged: one file per page, each page after the cursor.
    first = _lake_files(tenant, limit="1").body
    second = _lake_files(tenant, limit="1", cursor=first["nextCursor"]).body
    assert [f["date"] for f in first["data"] + second["data"]] == ["2026-04-01", "2026-04-02"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"since": "yesterday"},
            "'since' must be a date (2026-01-31) or an ISO 8601 UTC time ending in Z "
            "(got 'yesterday')",
        ),
        (
            {"since": "2026-02-01", "until": "2026-01-01"},
            "'since' must not be after 'until' (got '2026-02-01')",
        ),
        ({"cursor": "not-a-cursor"}, None),
    ],
)
def test_lake_files_refuses_bad_dates_and_cursors(
    query: dict[str, str], message: str | None
) -> None:
    answer = _lake_files("acme", **query)
    assert answer.status == 400
    if message is not None:
        assert answer.body["message"] == message
    else:
        assert "cursor" in answer.body["message"]
