"""Compaction: each partition's files merged into one (functions/lake_compaction on a schedule,
a timer in `make dev`; docs/lake.md "Compaction").

A partition that holds any batch file is rewritten as one `compacted-…` file: its rows
deduplicated (the highest version per identity), tombstones applied. The new file is written
before the old ones are deleted, so a reader in between sees both and deduplicates the same way.
Batch files written after the listing stay: they are the next run's tail.

A tombstone younger than TOMBSTONE_RETENTION is kept in the compacted file: a stream record
redelivered late (Lambda retries a shard for up to a day) must still meet it, or it would bring
back a removed row. Older tombstones are dropped.

Partitions are compacted in parallel (one single-threaded DuckDB each: cheaper than one
multi-threaded DuckDB per small partition). Then, per tenant, `on_compacted(tenant, compacted)`
runs with every compacted file the tenant now has (day → URI), whether or not this run
compacted anything of it: search builds its index there, for the days its index does not hold
yet, so a day whose index build failed is built at the next run even if no new data arrives.
A partition that fails is logged and left as it was; the others go on.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
# (tenant, {day: URI of the day's compacted file}) for every compacted partition of the tenant.
OnCompacted = Callable[[str, dict[str, str]], object]


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
        """Compact every partition (of one tenant, or all) that holds a batch file, then hand
        each tenant's compacted partitions to `on_compacted`."""
        by_partition: dict[Partition, list[LakeFile]] = {}
        for file in self._store.files(tenant_id):
            by_partition.setdefault(file.partition, []).append(file)
        report = CompactionReport()
        pending = sorted(
            (p for p, files in by_partition.items() if any(f.is_batch for f in files)),
            key=lambda p: p.path,
        )
        with ThreadPoolExecutor(max_workers=_workers()) as pool:
            outcomes = list(
                pool.map(self._compact_or_fail, pending, [by_partition[p] for p in pending])
            )
        compacted_now: dict[Partition, str] = {}
        for partition, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, Exception):
                # A file gone meanwhile (another run), or storage down: the next run retries.
                log.warning("lake: partition not compacted", extra={"partition": partition.path})
                report.failed.append(f"{partition.path}: {type(outcome).__name__}: {outcome}")
                continue
            uri, rows = outcome
            compacted_now[partition] = uri
            report.partitions += 1
            report.files_merged += len(by_partition[partition])
            report.rows_written += rows
        if self.on_compacted is not None:
            self._hand_over(self.on_compacted, by_partition, compacted_now, report)
        log.info("lake: compaction", extra=report.as_dict())
        return report

    def _compact_or_fail(
        self, partition: Partition, files: list[LakeFile]
    ) -> tuple[str, int] | Exception:
        try:
            return self.compact(partition, files)
        except (StorageUnavailable, duckdb.Error) as exc:
            return exc

    def _hand_over(
        self,
        hook: OnCompacted,
        listed: dict[Partition, list[LakeFile]],
        compacted_now: dict[Partition, str],
        report: CompactionReport,
    ) -> None:
        """`on_compacted` per tenant with each day's compacted file: the one this run wrote, or
        the newest listed (names sort by time)."""
        by_tenant: dict[str, dict[str, str]] = {}
        for partition, files in listed.items():
            uri = compacted_now.get(partition)
            if uri is None:
                newest = max(
                    (f for f in files if not f.is_batch), key=lambda f: f.name, default=None
                )
                if newest is None:
                    continue
                uri = self._store.uri_of(newest)
            by_tenant.setdefault(partition.tenant_id, {})[partition.date] = uri
        for tenant, compacted in sorted(by_tenant.items()):
            try:
                hook(tenant, dict(sorted(compacted.items())))
            except Exception as exc:
                # The partitions are compacted either way; the hook retries at the next run.
                log.error(
                    "lake: on_compacted failed",
                    extra={"tenant": tenant, "error": f"{type(exc).__name__}: {exc}"},
                )
                report.failed.append(f"on_compacted {tenant}: {type(exc).__name__}: {exc}")

    def compact(self, partition: Partition, files: list[LakeFile]) -> tuple[str, int]:
        """Merge `files` (all of one partition) into one compacted file: its URI and rows."""
        cutoff = int((self._clock() - TOMBSTONE_RETENTION_SECONDS) * 1_000_000)
        name = new_file_name(COMPACTED_PREFIX)
        with tempfile.TemporaryDirectory(prefix="lake-compact-") as work:
            folder = Path(work)
            (folder / "in").mkdir()
            paths = [self._store.local_copy(f, folder / "in") for f in files]
            target = folder / name
            con = connect(threads=1)
            try:
                latest = latest_rows_sql(paths, keep_tombstones=True)
                (rows,) = con.execute(
                    f"COPY (SELECT * FROM ({latest}) WHERE NOT deleted OR version >= {cutoff} "
                    "ORDER BY conversation_id, seq, record_id) "
                    f"TO '{_sql(target)}' (FORMAT parquet, COMPRESSION zstd)"
                ).fetchone() or (0,)
            finally:
                con.close()
            uri = self._store.put_file(partition, name, target)
        self._store.delete(files)
        return uri, int(rows)


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")
