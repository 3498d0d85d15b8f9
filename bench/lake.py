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
from pathlib import Path
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


def measure_compaction(rows: int, batch: int) -> tuple[float, int]:
    """Compaction of one partition of `rows` rows in `rows / batch` batch files, made directly
    by DuckDB (varied multilingual text, metadata JSON), plus one redelivered batch: seconds,
    and the rows the compacted file holds."""
    from shared.lake.compaction import Compactor
    from shared.lake.models import COLUMN_NAMES
    from shared.lake.store import BATCH_PREFIX, LakeStore, Partition, connect, new_file_name

    words = "refund order parcel café 退款 доставка invoice شحن delivery account password"
    with tempfile.TemporaryDirectory(prefix="bench-compact-") as folder:
        store = LakeStore(folder)
        partition = Partition(ACME, "2026-03-01")
        target = Path(folder) / "records" / partition.path
        target.mkdir(parents=True)
        con = connect()
        for first in range(0, rows, batch):
            name = new_file_name(BATCH_PREFIX)
            con.execute(
                f"""COPY (SELECT '{ACME}' AS tenant_id, 'conv-' || (i // 10) AS conversation_id,
                    'rec_' || i AS record_id, 'chat' AS source,
                    CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END AS role,
                    'production' AS environment, 'gpt-4o' AS model, 'openai' AS provider,
                    TIMESTAMP '2026-03-01 10:00:00' + to_microseconds(i) AS ts,
                    lpad(i::VARCHAR, 12, '0') AS seq,
                    array_to_string(list_transform(range(40), k -> split('{words}', ' ')
                        [1 + ((i * 7 + k * 13) % 12)]), ' ') || ' ' || i AS text,
                    10::BIGINT AS input_tokens, 20::BIGINT AS output_tokens,
                    NULL::BIGINT AS latency_ms, '{{"plan": "pro"}}' AS metadata,
                    NULL AS status, NULL AS insights, 1::BIGINT AS version, false AS deleted
                    FROM range({first}, {min(first + batch, rows)}) t(i))
                TO '{target / name}' (FORMAT parquet, COMPRESSION zstd)"""
            )
        con.execute(
            f"COPY (SELECT {', '.join(COLUMN_NAMES)} FROM read_parquet('{target / name}')) "
            f"TO '{target / new_file_name(BATCH_PREFIX)}' (FORMAT parquet)"
        )  # the last batch delivered twice
        con.close()
        began = time.perf_counter()
        report = Compactor(store).run()
        return time.perf_counter() - began, report.rows_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--compaction-rows", type=int, default=0, help="also time compacting a partition this big"
    )
    args = parser.parse_args()
    env.apply()
    if args.compaction_rows:
        seconds, kept = measure_compaction(args.compaction_rows, args.batch)
        print(json.dumps({"compaction_rows": kept, "compaction_seconds": round(seconds, 2)}))
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
