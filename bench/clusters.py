"""Clusters at scale: 100,000 conversations (300,000 messages, 12 topics, 30 daily partitions
of one tenant, written once to bench/.cache/) re-clustered with the local embedder, then one
new conversation assigned, both through shared.clusters.service as the scheduled functions run
them.

    python -m bench.clusters   # the figures alone
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from shared.clusters.embedding import LocalEmbedder
from shared.clusters.service import ClusterService
from shared.clusters.store import ClusterStore
from shared.lake.models import tenant_folder
from shared.lake.store import LakeStore

CACHE = Path(__file__).parent / ".cache" / "clusters-lake-v2"
TENANT = "bench-clusters"
CONVERSATIONS = 100_000
DAYS = 30
NOW = datetime(2026, 1, 31, 23, tzinfo=UTC)
TOPICS = [
    "refund charge invoice payment card money duplicate billing statement credit",
    "login password reset account locked verification code email sign access",
    "parcel delivery tracking courier shipping address delayed package warehouse",
    "price plan upgrade discount subscription tier quote annual monthly seats",
    "cancel subscription cancellation renewal terminate contract notice close",
    "crash error bug exception freeze screen update version broken stack",
    "booking reservation flight hotel seat date change itinerary confirm",
    "integration api webhook token endpoint sdk oauth callback payload",
    "profile name email phone change update address settings preferences",
    "export report csv dashboard chart filter download spreadsheet columns",
    "printer scanner driver device bluetooth pairing firmware connect usb",
    "insurance claim policy coverage damage adjuster deductible accident",
]
PASS_INTERVAL_SECONDS = 30.0  # two assignment passes per 1-minute schedule (template.yaml)
LAKE_DELAY_SECONDS = 6.0  # stream delivery + 5 s batching window + write (docs/lake.md)
COMMON = ["hello", "thanks", "please", "order", "help", "issue", "question", "today"]


@dataclass(frozen=True)
class ClusterFigures:
    conversations: int
    cluster_seconds: float
    clusters: int
    assign_seconds: float


def _text(rng: random.Random, topic: int) -> list[str]:
    words = TOPICS[topic].split()
    user = " ".join(rng.choices(words, k=8) + rng.choices(COMMON, k=3))
    answer = " ".join(rng.choices(words, k=6) + rng.choices(COMMON, k=2))
    follow = " ".join(rng.choices(words, k=4))
    return [user, answer, follow]


def _rows(
    tenant: str, cid: str, texts: list[str], ts: datetime, version: int
) -> list[dict[str, object]]:
    return [
        {
            "tenant_id": tenant,
            "conversation_id": cid,
            "record_id": f"{cid}:{n}",
            "source": "chat",
            "role": "user" if n % 2 == 0 else "assistant",
            "environment": "production",
            "ts": (ts + timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S"),
            "seq": f"{n:04d}",
            "text": text,
            "metadata": "{}",
            "model": None,
            "provider": None,
            "input_tokens": None,
            "output_tokens": None,
            "latency_ms": None,
            "status": None,
            "insights": None,
            "version": version,
            "deleted": False,
        }
        for n, text in enumerate(texts)
    ]


_SCHEMA = (
    "{'tenant_id': 'VARCHAR', 'conversation_id': 'VARCHAR', 'record_id': 'VARCHAR', "
    "'source': 'VARCHAR', 'role': 'VARCHAR', 'environment': 'VARCHAR', 'ts': 'TIMESTAMP', "
    "'seq': 'VARCHAR', 'text': 'VARCHAR', 'metadata': 'VARCHAR', 'version': 'BIGINT', "
    "'deleted': 'BOOLEAN', 'model': 'VARCHAR', 'provider': 'VARCHAR', "
    "'input_tokens': 'BIGINT', 'output_tokens': 'BIGINT', 'latency_ms': 'BIGINT', "
    "'status': 'VARCHAR', 'insights': 'VARCHAR'}"
)


def _write(folder: Path, name: str, rows: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as staged:
        for row in rows:
            staged.write(json.dumps(row) + "\n")
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_json('{staged.name}', format='newline_delimited', "
        f"columns={_SCHEMA})) TO '{folder / name}' (FORMAT parquet)"
    )
    con.close()
    Path(staged.name).unlink()


def corpus() -> Path:
    """The lake folder (built once)."""
    if (CACHE / "done").exists():
        return CACHE
    shutil.rmtree(CACHE, ignore_errors=True)
    rng = random.Random(7)
    per_day: dict[str, list[dict[str, object]]] = {}
    for n in range(CONVERSATIONS):
        ts = NOW - timedelta(days=1 + n % DAYS, minutes=n % 1440)
        rows = _rows(TENANT, f"c{n:06d}", _text(rng, n % len(TOPICS)), ts, 1)
        per_day.setdefault(ts.strftime("%Y-%m-%d"), []).extend(rows)
    for day, rows in per_day.items():
        _write(
            CACHE / "records" / tenant_folder(TENANT) / f"date={day}", "compacted-1.parquet", rows
        )
    (CACHE / "done").write_text("")
    return CACHE


def measure() -> ClusterFigures:
    lake_folder = corpus()
    with tempfile.TemporaryDirectory(prefix="bench-clusters-") as work:
        lake = Path(work) / "lake"
        shutil.copytree(lake_folder / "records", lake / "records")
        service = ClusterService(ClusterStore(LakeStore(str(lake))), LocalEmbedder(), 90)
        started = time.perf_counter()
        outcome = service.recluster(TENANT, NOW)
        cluster_seconds = time.perf_counter() - started
        new = _rows(TENANT, "c-new", _text(random.Random(1), 3), NOW, 2)
        day = NOW.strftime("%Y-%m-%d")
        _write(lake / "records" / tenant_folder(TENANT) / f"date={day}", "batch-1.parquet", new)
        started = time.perf_counter()
        assigned = service.assign(TENANT, NOW)
        assign_seconds = time.perf_counter() - started
        assert assigned.conversations == 1, assigned
    return ClusterFigures(outcome.conversations, cluster_seconds, outcome.clusters, assign_seconds)


if __name__ == "__main__":
    print(measure())
