"""Compaction: each partition's files merged into one (functions/lake_compaction on a schedule,
a timer in `make dev`; docs/lake.md "Compaction").

A partition that holds any batch file is rewritten as one `compacted-…` file: its rows
deduplicated (the highest version per identity), tombstones applied. The new file is written
before the old ones are deleted, so a reader in between sees both and deduplicates the same way.
Batch files written after the listing stay: they are the next run's tail.

A tombstone younger than TOMBSTONE_RETENTION is kept in the compacted file: a stream record
redelivered late (Lambda retries a shard for up to a day) must still meet it, or it would bring
back a removed row. Older tombstones are dropped.

After a partition's compacted file is in place, `on_compacted(tenant, date, uri)` runs (search
builds its index there). A partition that fails is logged and left as it was; the others go on.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from shared.errors import StorageUnavailable
from shared.lake.query import latest_rows_sql
from shared.lake.store import (
    COMPACTED_PREFIX,
    LakeFile,
    LakeStore,
    Partition,
    connect,
    new_file_name,
)
from shared.logs import get_logger

log = get_logger("lake")

TOMBSTONE_RETENTION_SECONDS = 2 * 24 * 3600  # > the stream mapping's 1-day record age
OnCompacted = Callable[[str, str, str], object]


@dataclass
class CompactionReport:
    partitions: int = 0
    files_merged: int = 0
    rows_written: int = 0
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "partitions": self.partitions,
            "filesMerged": self.files_merged,
            "rowsWritten": self.rows_written,
            "failed": self.failed,
        }


class Compactor:
    def __init__(
        self,
        store: LakeStore,
        on_compacted: OnCompacted | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.on_compacted = on_compacted
        self._clock = clock

    def run(self, tenant_id: str | None = None) -> CompactionReport:
        """Compact every partition (of one tenant, or all) that holds a batch file."""
        by_partition: dict[Partition, list[LakeFile]] = {}
        for file in self._store.files(tenant_id):
            by_partition.setdefault(file.partition, []).append(file)
        report = CompactionReport()
        for partition, files in sorted(by_partition.items(), key=lambda p: p[0].path):
            if not any(f.is_batch for f in files):
                continue
            try:
                report.rows_written += self.compact(partition, files)
            except (StorageUnavailable, duckdb.Error) as exc:
                # A file gone meanwhile (another run), or storage down: the next run retries.
                log.warning("lake: partition not compacted", extra={"partition": partition.path})
                report.failed.append(f"{partition.path}: {type(exc).__name__}: {exc}")
                continue
            report.partitions += 1
            report.files_merged += len(files)
        log.info("lake: compaction", extra=report.as_dict())
        return report

    def compact(self, partition: Partition, files: list[LakeFile]) -> int:
        """Merge `files` (all of one partition) into one compacted file; the rows it holds."""
        cutoff = int((self._clock() - TOMBSTONE_RETENTION_SECONDS) * 1_000_000)
        name = new_file_name(COMPACTED_PREFIX)
        with tempfile.TemporaryDirectory(prefix="lake-compact-") as work:
            folder = Path(work)
            (folder / "in").mkdir()
            paths = [self._store.local_copy(f, folder / "in") for f in files]
            target = folder / name
            con = connect()
            try:
                latest = latest_rows_sql(paths, keep_tombstones=True)
                con.execute(
                    f"COPY (SELECT * FROM ({latest}) WHERE NOT deleted OR version >= {cutoff} "
                    "ORDER BY conversation_id, seq, record_id) "
                    f"TO '{_sql(target)}' (FORMAT parquet, COMPRESSION zstd)"
                )
                (rows,) = con.execute(
                    f"SELECT count(*) FROM read_parquet('{_sql(target)}')"
                ).fetchone() or (0,)
            finally:
                con.close()
            uri = self._store.put_file(partition, name, target)
        self._store.delete(files)
        if self.on_compacted is not None:
            try:
                self.on_compacted(partition.tenant_id, partition.date, uri)
            except Exception as exc:
                # The partition is compacted either way; the hook's owner reports its failure.
                log.error(
                    "lake: on_compacted failed",
                    extra={"partition": partition.path, "error": f"{type(exc).__name__}: {exc}"},
                )
                raise StorageUnavailable(f"on_compacted: {exc}") from exc
        return int(rows)


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")
