"""Reading the lake: one tenant's rows for a date range, deduplicated (what search and export
read; docs/lake.md "Reading").

A partition's content is the union of its files (the compacted file and the batch files of the
tail), deduplicated: per row identity (tenant, conversation, record id) the highest version
wins, a tombstone winning a tie, and a winning tombstone drops the row. Pruning is by listing:
only the tenant's folder is listed and only partitions whose date is in range are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from shared.lake.models import COLUMN_NAMES, COLUMNS, IDENTITY
from shared.lake.store import LakeFile, LakeStore

_IDENTITY = ", ".join(IDENTITY)
_COLUMNS = ", ".join(COLUMN_NAMES)


def files_in_range(
    store: LakeStore, tenant_id: str, since: str | None = None, until: str | None = None
) -> list[LakeFile]:
    """The tenant's files whose partition date is within [since, until] (YYYY-MM-DD, either
    open), oldest partition first."""
    return [
        f
        for f in store.files(tenant_id)
        if (since is None or f.partition.date >= since[:10])
        and (until is None or f.partition.date <= until[:10])
    ]


def latest_rows_sql(paths: Sequence[str | Path], *, keep_tombstones: bool = False) -> str:
    """SQL over the given Parquet files: one row per identity, the winning version.
    `keep_tombstones`: keep winning tombstones (compaction keeps young ones)."""
    if not paths:
        # No file: an empty relation with the lake's columns.
        nulls = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in COLUMNS)
        return f"SELECT {nulls} WHERE false"
    listed = _listed([str(p) for p in paths])
    alive = "" if keep_tombstones else " WHERE NOT deleted"
    return (
        f"SELECT {_COLUMNS} FROM (SELECT * FROM read_parquet([{listed}], union_by_name = true) "
        f"QUALIFY row_number() OVER (PARTITION BY {_IDENTITY} "
        f"ORDER BY version DESC, deleted DESC) = 1){alive}"
    )


def tenant_rows(
    con: duckdb.DuckDBPyConnection,
    store: LakeStore,
    tenant_id: str,
    since: str | None = None,
    until: str | None = None,
) -> duckdb.DuckDBPyRelation:
    """A DuckDB relation of one tenant's live rows with partition dates in [since, until].
    Locally it reads the files in place; on S3 `con` must have httpfs loaded with credentials
    (shared/lake/engine.py `s3_connection`)."""
    files = files_in_range(store, tenant_id, since, until)
    return con.sql(latest_rows_sql([store.uri_of(f) for f in files]))


def live_rows_sql(store: LakeStore, files: Sequence[LakeFile], columns: Sequence[str]) -> str:
    """Like `latest_rows_sql` over `files`, reading only `columns` (lake column names), and
    deduplicating only where it can matter: within a partition. A partition that is one
    compacted file is already deduplicated (compaction kept one row per identity), so its live
    rows are read as they are; a partition with batch files is deduplicated on its own. No
    identity is live in two partitions: a record that moves to another day leaves a tombstone
    in the old partition in the same stream batch (docs/lake.md "Writers")."""
    by_partition: dict[str, list[LakeFile]] = {}
    for file in files:
        by_partition.setdefault(file.partition.date, []).append(file)
    settled = [f[0] for f in by_partition.values() if len(f) == 1 and not f[0].is_batch]
    mixed = [
        f for group in by_partition.values() if len(group) > 1 or group[0].is_batch for f in group
    ]
    wanted = ", ".join(columns)
    parts = []
    if settled:
        listed = _listed([store.uri_of(f) for f in settled])
        parts.append(
            f"SELECT {wanted} FROM read_parquet([{listed}], union_by_name = true) WHERE NOT deleted"
        )
    for day in sorted({f.partition.date for f in mixed}):
        listed = _listed([store.uri_of(f) for f in mixed if f.partition.date == day])
        parts.append(
            f"SELECT {wanted} FROM (SELECT {_IDENTITY}, version, deleted, {wanted} "
            f"FROM read_parquet([{listed}], union_by_name = true) "
            f"QUALIFY row_number() OVER (PARTITION BY {_IDENTITY} "
            f"ORDER BY version DESC, deleted DESC) = 1) WHERE NOT deleted"
        )
    if not parts:
        return latest_rows_sql([])
    return " UNION ALL ".join(parts)


def _listed(paths: Sequence[str]) -> str:
    return ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
