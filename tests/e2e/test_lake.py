"""The analytics lake on a real `python -m devtools.server`: every source sent over HTTP appears
as rows in the lake's Parquet (read with DuckDB) within seconds, in its tenant's partitions;
the local compaction timer then leaves one file per partition."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from google.protobuf import json_format

from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.otel_support import export_request, moda_chat

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 30.0  # generous for a loaded machine; make dev takes about a second


def lake_folder(server: ServerProcess) -> Path:
    match = re.search(r"Lake \(Parquet\): (\S+)", server.output)
    assert match, server.output
    return Path(match.group(1)) / "records"


def lake_rows(folder: Path, tenant: str) -> list[dict[str, Any]]:
    """Every live row of a tenant, read straight from the Parquet files with DuckDB."""
    files = sorted((folder / f"tenant={tenant}").rglob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    listed = ", ".join(f"'{f}'" for f in files)
    try:
        relation = con.sql(
            f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true) "
            "QUALIFY row_number() OVER (PARTITION BY conversation_id, record_id "
            "ORDER BY version DESC, deleted DESC) = 1"
        )
        names = relation.columns
        found = [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    except duckdb.IOException:  # a file compacted away while listed: read again
        return []
    return [row for row in found if not row["deleted"]]


def wait_for(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture(scope="module")
def lake_server() -> Any:
    """Its own server, compacting every 2 s, for one fresh tenant."""
    tenant = f"lake{uuid.uuid4().hex[:8]}"
    keys = {tenant: new_key(), f"{tenant}-other": new_key()}
    running = start_server(keys, {"PARLEY_DEV_SCHEDULE_SECONDS": "2"})
    yield running, tenant
    assert running.stop() == 0, running.output
    assert "Traceback" not in running.output, running.output


def otlp_json(conversation: str) -> bytes:
    payload = json_format.MessageToDict(
        export_request([moda_chat(conversation, [("user", "otel asks")], "otel answers")])
    )
    for item in payload["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        item["traceId"] = base64.b64decode(item["traceId"]).hex()
        item["spanId"] = base64.b64decode(item["spanId"]).hex()
    return json.dumps(payload).encode()


def test_every_source_reaches_the_lake_within_seconds(lake_server: Any) -> None:
    server, tenant = lake_server
    key = server.keys[tenant]
    url = server.base_url
    run = uuid.uuid4().hex[:6]
    ingest = {
        "events": [
            {"conversation_id": f"chat-{run}", "role": "user", "message": "refund please"},
            {
                "messageType": "channel",
                "id": f"ch-{run}",
                "conversationId": f"chan-{run}",
                "role": "user",
                "message": "via sms",
            },
            {
                "messageType": "tool_call",
                "id": f"tc-{run}",
                "conversationId": f"tool-{run}",
                "name": "lookup",
                "toolCallRequest": {"q": "order"},
                "toolCallResponse": {"found": True},
            },
            {
                "messageType": "email",
                "id": f"em-{run}",
                "conversationId": f"mail-{run}",
                "role": "user",
                "subject": "Billing",
                "body": "Charged twice",
            },
            {
                "messageType": "call",
                "id": f"call-{run}",
                "conversationId": f"call-{run}",
                "transcript": [{"role": "user", "content": "phone words"}],
            },
        ]
    }
    sent = time.monotonic()
    assert request("POST", f"{url}/v1/ingest", key=key, json_body=ingest).status == 200
    vogent = {
        "events": [
            {
                "id": f"v-{run}",
                "conversationId": f"vog-{run}",
                "transcript": [{"speaker": "HUMAN", "text": "vogent words"}],
            }
        ]
    }
    assert request("POST", f"{url}/v1/ingest/vogent-raw", key=key, json_body=vogent).status == 200
    traces = request(
        "POST",
        f"{url}/v1/traces",
        key=key,
        data=otlp_json(f"otel-{run}"),
        headers={"Content-Type": "application/json"},
    )
    assert traces.status == 200, traces.body
    created = request(
        "POST",
        f"{url}/api/v1/conversations",
        key=key,
        json_body={"promptId": "p1", "content": "User: conversation words\nAssistant: ok"},
    )
    assert created.status in (200, 201), created.body
    conversation_id = created.body["id"]
    runs = request(
        "POST",
        f"{url}/api/v1/runs",
        key=key,
        json_body={"agentName": "Bot", "messages": [{"role": "user", "content": "run words"}]},
    )
    assert runs.status in (200, 201), runs.body
    run_id = runs.body["data"]["id"]

    expected = {
        f"chat-{run}": "chat",
        f"chan-{run}": "channel",
        f"tool-{run}": "tool_call",
        f"mail-{run}": "email",
        f"call-{run}": "call",
        f"vog-{run}": "call",
        f"otel-{run}": "otel",
        conversation_id: "conversations",
        run_id: "conversations",
    }
    folder = lake_folder(server)

    def arrived() -> list[dict[str, Any]]:
        rows = lake_rows(folder, tenant)
        return rows if expected.keys() <= {r["conversation_id"] for r in rows} else []

    rows = wait_for(arrived)
    took = time.monotonic() - sent
    assert rows, f"not in the lake after {WAIT_SECONDS} s: {lake_rows(folder, tenant)}"
    assert took < WAIT_SECONDS
    sources = {r["conversation_id"]: r["source"] for r in rows}
    assert {c: sources[c] for c in expected} == expected
    texts = {r["text"] for r in rows}
    assert {"refund please", "Billing\nCharged twice", "vogent words", "otel asks"} <= texts
    assert {"conversation words", "run words"} <= texts
    assert all(r["tenant_id"] == tenant for r in rows)
    # Partitioned by tenant: nothing of this tenant anywhere else.
    for path in folder.rglob("*.parquet"):
        con = duckdb.connect()
        try:
            tenants = {t for (t,) in con.sql(f"SELECT DISTINCT tenant_id FROM '{path}'").fetchall()}
        except duckdb.IOException:
            continue  # compacted away meanwhile
        assert (tenant in tenants) == path.is_relative_to(folder / f"tenant={tenant}")


def test_compaction_timer_leaves_one_file_per_partition(lake_server: Any) -> None:
    server, tenant = lake_server
    key = server.keys[tenant]
    conversation = f"compact-{uuid.uuid4().hex[:6]}"
    for text in ("one", "two", "three"):  # three requests: at least one batch file each
        body = {"events": [{"conversation_id": conversation, "role": "user", "message": text}]}
        sent = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body=body)
        assert sent.status == 200
    folder = lake_folder(server) / f"tenant={tenant}"

    def compacted() -> bool:
        names = [p.name for p in folder.rglob("*.parquet")]
        texts = {r["text"] for r in lake_rows(lake_folder(server), tenant)}
        done = all(n.startswith("compacted-") for n in names)
        return done and {"one", "two", "three"} <= texts

    assert wait_for(compacted), sorted(p.name for p in folder.rglob("*"))
    for partition in {p.parent for p in folder.rglob("*.parquet")}:
        assert len(list(partition.glob("*.parquet"))) == 1
    rows = lake_rows(lake_folder(server), tenant)
    rows = [r for r in rows if r["conversation_id"] == conversation]
    assert sorted(r["text"] for r in rows) == ["one", "three", "two"]


def test_cli_exports_the_tenants_parquet_partitions(lake_server: Any, tmp_path: Path) -> None:
    """`parley export --format parquet` through GET /v1/lake/files: the caller's partitions
    only, readable with DuckDB as docs/lake-quickstart.md shows."""
    from tests.e2e.test_cli_data import parley

    server, tenant = lake_server
    conversation = f"export-{uuid.uuid4().hex[:6]}"
    body = {"events": [{"conversation_id": conversation, "role": "user", "message": "exported"}]}
    key = server.keys[tenant]
    assert request("POST", f"{server.base_url}/v1/ingest", key=key, json_body=body).status == 200
    assert wait_for(
        lambda: [r for r in lake_rows(lake_folder(server), tenant) if r["text"] == "exported"]
    )
    today = time.strftime("%Y-%m-%d", time.gmtime())
    out = tmp_path / "lake"
    code, _, err = parley(
        "export",
        "--format",
        "parquet",
        "--since",
        today,
        "--out",
        str(out),
        state=server.state_file,
        PARLEY_KEY=key,
    )
    assert code == 0, err
    assert "Exported" in err
    assert {p.parent.name for p in out.rglob("*.parquet")} == {f"date={today}"}
    con = duckdb.connect()
    found = con.sql(
        f"SELECT text FROM (SELECT * FROM read_parquet('{out}/*/*.parquet') "
        "QUALIFY row_number() OVER (PARTITION BY conversation_id, record_id "
        "ORDER BY version DESC, deleted DESC) = 1) WHERE NOT deleted"
    ).fetchall()
    assert ("exported",) in found
    # Another tenant's key exports nothing of this tenant.
    other = tmp_path / "other"
    code, _, err = parley(
        "export",
        "--format",
        "parquet",
        "--since",
        today,
        "--out",
        str(other),
        state=server.state_file,
        PARLEY_KEY=server.keys[f"{tenant}-other"],
    )
    assert code == 0, err
    assert list(other.rglob("*.parquet")) == []
