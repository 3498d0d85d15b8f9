"""The lake's row: one per message, whatever API stored it (docs/lake.md, "Row").

Rows are built from the DynamoDB items the stream workers see: an ingest record (the records
table's `rec` JSON) or a conversations API conversation (loaded whole). The column list below
is the Parquet schema every lake file has, in this order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# (column, DuckDB type): the Parquet schema, in file order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("tenant_id", "VARCHAR"),
    ("conversation_id", "VARCHAR"),
    ("record_id", "VARCHAR"),
    ("source", "VARCHAR"),
    ("role", "VARCHAR"),
    ("environment", "VARCHAR"),
    ("model", "VARCHAR"),
    ("provider", "VARCHAR"),
    ("ts", "TIMESTAMP"),
    ("seq", "VARCHAR"),
    ("text", "VARCHAR"),
    ("input_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"),
    ("latency_ms", "BIGINT"),
    ("metadata", "VARCHAR"),
    ("status", "VARCHAR"),
    ("insights", "VARCHAR"),
    ("version", "BIGINT"),
    ("deleted", "BOOLEAN"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
SOURCES = ("chat", "channel", "tool_call", "email", "call", "otel", "conversations")
# A row is one stored item: the records table keys records by (conversation, record id), so the
# lake does too (the same ingest id sent under two conversations is two records).
IDENTITY = ("tenant_id", "conversation_id", "record_id")
_SAFE = "-_."  # besides letters and digits: kept as is in a partition folder name


@dataclass(slots=True)
class LakeRow:
    tenant_id: str
    conversation_id: str
    record_id: str
    source: str
    ts: datetime  # UTC
    seq: str
    version: int
    text: str = ""
    role: str | None = None
    environment: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int | None = None
    metadata: str = "{}"
    status: str | None = None
    insights: str | None = None
    deleted: bool = False

    @property
    def date(self) -> str:
        return self.ts.strftime("%Y-%m-%d")

    def as_json(self) -> dict[str, Any]:
        """The row as JSON values (DuckDB reads them back with the schema above)."""
        values = {name: getattr(self, name) for name in COLUMN_NAMES}
        values["ts"] = self.ts.strftime("%Y-%m-%d %H:%M:%S.%f")
        return values


def tenant_folder(tenant_id: str) -> str:
    """`tenant=…` holds the tenant id percent-encoded outside [A-Za-z0-9_.-] (a path never
    escapes its folder, and Athena's injected projection reads the same string back)."""
    return "tenant=" + quote(tenant_id, safe=_SAFE)


def partition_path(tenant_id: str, date: str) -> str:
    """The partition's folder under the lake's `records/`."""
    return f"{tenant_folder(tenant_id)}/date={date}"


def parse_timestamp(value: Any, fallback: datetime) -> datetime:
    """An ISO 8601 timestamp as naive UTC (Parquet TIMESTAMP); `fallback` when unreadable."""
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC)
            return parsed.replace(tzinfo=None)
    return fallback.astimezone(UTC).replace(tzinfo=None) if fallback.tzinfo else fallback


def flatten(value: Any) -> str:
    """Structured values as searchable words: `key: value` pairs, lists joined, scalars as
    text (a JSON string that holds an object is read as that object)."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                return flatten(json.loads(stripped))
            except ValueError:
                pass
        return value
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            text = flatten(item)
            parts.append(f"{key}: {text}" if text else str(key))
        return " ".join(parts)
    if isinstance(value, list):
        return " ".join(part for part in (flatten(item) for item in value) if part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def integer(value: Any) -> int | None:
    """A count as BIGINT: ints (not bools) and whole floats; anything else is unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
