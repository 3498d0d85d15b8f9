"""The analytics lake's speed on this machine (shared/lake/): the records lake worker's rows/s
and the compaction time of a partition of N rows.

    .venv/bin/python -m bench.lake [--rows 100000] [--batch 1000]

The worker runs its real handler code on stream batches built from real stored items (the
ingest pipeline's), writing to a local folder (on AWS the same file goes to S3 in one PUT);
compaction merges the partition's batch files, one per batch, with one redelivered batch among
them. `make cost` uses these figures for the lake's share of the bill.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench import env

ACME = "bench"


@dataclass
class LakeMeasured:
    rows: int
    batch: int
    write_seconds: float  # every batch through the worker
    parquet_bytes: int  # the compacted partition's file
    batch_file_bytes: float  # mean batch file
    compaction_seconds: float  # the partition of `rows` rows (+ one redelivered batch)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.write_seconds

    @property
    def batch_ms(self) -> float:
        return self.write_seconds / (self.rows / self.batch) * 1000


def stream_batch(items: list[dict[str, Any]], created: int, first: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "ApproximateCreationDateTime": created,
                    "Keys": {"pk": item["pk"], "sk": item["sk"]},
                    "NewImage": item,
                    "SequenceNumber": str(111_000_000_000_000_000_000 + first + n),
                },
            }
            for n, item in enumerate(items)
        ]
    }


def stored_items(count: int, event_bytes: int = 1000) -> list[dict[str, Any]]:
    """Items as the ingest pipeline stores them: realistic text, ids, order keys."""
    from bench.bodies import ingest_events
    from shared.ingest.store import RecordStore

    events = ingest_events(count, event_bytes)
    items = []
    received = time.time_ns()
    for seq, event in enumerate(events):
        record = {
            "id": f"rec_{seq:032x}",
            "conversation_id": event.get("conversation_id", "c"),
            "message_source": "chat",
            "environment": "production",
            "timestamp": "2026-03-01T10:00:00.000Z",
            "received_at": "2026-03-01T10:00:00.000Z",
            "request_id": "bench",
            "has_tool_use": False,
            "role": event.get("role", "user"),
            "message": event.get("message") or json.dumps(event),
        }
        items.append(RecordStore.prepare(ACME, record, received, seq).item)
    return items


def measure(rows: int, batch: int, event_bytes: int = 1000) -> LakeMeasured:
    from shared.lake.compaction import Compactor
    from shared.lake.store import LakeStore
    from shared.lake.writer import RecordsLakeWorker

    items = stored_items(min(rows, 20_000), event_bytes)
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as folder:
        store = LakeStore(folder)
        worker = RecordsLakeWorker(store)
        created = int(time.time())
        batches = []
        for start in range(0, rows, batch):
            chunk = [dict(items[(start + i) % len(items)]) for i in range(min(batch, rows - start))]
            for i, item in enumerate(chunk):  # every row its own record id
                item["sk"] = {"S": f"rec_{start + i:032x}"}
            batches.append(stream_batch(chunk, created, start))
        worker.handle(batches[0])  # warm-up: also a redelivered batch for compaction
        began = time.perf_counter()
        for event in batches:
            answer = worker.handle(event)
            if answer["batchItemFailures"]:
                raise RuntimeError(f"lake worker failed: {answer}")
        write_seconds = time.perf_counter() - began
        files = store.files()
        batch_bytes = sum(f.size for f in files) / len(files)
        began = time.perf_counter()
        report = Compactor(store).run()
        compaction_seconds = time.perf_counter() - began
        if report.rows_written != rows:
            raise RuntimeError(f"compaction kept {report.rows_written} rows of {rows}")
        (compacted,) = store.files()
        return LakeMeasured(
            rows, batch, write_seconds, compacted.size, batch_bytes, compaction_seconds
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    env.apply()
    m = measure(args.rows, args.batch)
    print(
        json.dumps(
            {
                "rows": m.rows,
                "batch": m.batch,
                "writer_rows_per_second": round(m.rows_per_second),
                "writer_batch_ms": round(m.batch_ms, 1),
                "batch_file_bytes": round(m.batch_file_bytes),
                "compaction_seconds": round(m.compaction_seconds, 2),
                "compacted_bytes": m.parquet_bytes,
                "compacted_bytes_per_row": round(m.parquet_bytes / m.rows, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
