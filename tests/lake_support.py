"""Writes lake rows exactly as the lake contract lays them out (DuckDB COPY … FORMAT parquet),
for the search tests and bench, until the lake writer's own code is at hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from shared.lake.models import tenant_folder

# The contract's columns and Parquet types, in order.
COLUMNS = {
    "tenant_id": "VARCHAR",
    "conversation_id": "VARCHAR",
    "record_id": "VARCHAR",
    "source": "VARCHAR",
    "role": "VARCHAR",
    "environment": "VARCHAR",
    "model": "VARCHAR",
    "provider": "VARCHAR",
    "ts": "TIMESTAMP",
    "seq": "VARCHAR",
    "text": "VARCHAR",
    "input_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "latency_ms": "BIGINT",
    "metadata": "VARCHAR",
    "status": "VARCHAR",
    "insights": "VARCHAR",
    "version": "BIGINT",
    "deleted": "BOOLEAN",
}


def row(tenant: str, record_id: str, text: str, **fields: Any) -> dict[str, Any]:
    """A lake row with sensible defaults; `ts` a datetime (UTC)."""
    values: dict[str, Any] = {
        "tenant_id": tenant,
        "conversation_id": fields.pop("conversation_id", "conv-1"),
        "record_id": record_id,
        "source": "chat",
        "role": "user",
        "environment": "production",
        "model": "gpt-4o",
        "provider": "openai",
        "ts": datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        "seq": "0001",
        "text": text,
        "input_tokens": None,
        "output_tokens": None,
        "latency_ms": None,
        "metadata": "{}",
        "status": None,
        "insights": None,
        "version": 1,
        "deleted": False,
    }
    values.update(fields)
    return values


def by_day(paths: list[Path]) -> dict[str, str]:
    """Compacted files as the lake's compaction hands them to `on_compacted`: day → URI."""
    return {p.parent.name.removeprefix("date="): str(p) for p in paths}


def write(
    lake: Path, rows: list[dict[str, Any]], kind: str = "batch", name: str = ""
) -> list[Path]:
    """One file per (tenant, day) partition: `batch-{uuid}.parquet` or, with kind="compacted",
    `compacted-{name or 1}.parquet`."""
    written = []
    partitions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        day = r["ts"].astimezone(UTC).date().isoformat()
        partitions.setdefault((r["tenant_id"], day), []).append(r)
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    columns = ", ".join(f"{n} {t}" for n, t in COLUMNS.items())
    db.execute(f"CREATE TEMP TABLE lake_rows ({columns})")
    for (tenant, day), members in partitions.items():
        folder = lake / "records" / tenant_folder(tenant) / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        file = (
            f"batch-{uuid.uuid4()}.parquet" if kind == "batch" else f"compacted-{name or 1}.parquet"
        )
        db.execute("DELETE FROM lake_rows")
        marks = ", ".join("?" for _ in COLUMNS)
        db.executemany(
            f"INSERT INTO lake_rows VALUES ({marks})",
            [
                [m[n].astimezone(UTC).replace(tzinfo=None) if n == "ts" else m[n] for n in COLUMNS]
                for m in members
            ],
        )
        db.execute(f"COPY lake_rows TO '{folder / file}' (FORMAT parquet)")
        written.append(folder / file)
    db.close()
    return written
