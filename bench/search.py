"""Search on 1,000,000 messages (bench/search_corpus.py) through the production code: the corpus
delivered as stream batch files of 1,000 rows, compacted and indexed by the compaction
function's own Compactor and search hook (wall and CPU seconds), queries through
shared.search.service and the views, and a cold start through the real handler
(functions/search/app.py) in a fresh interpreter.

The corpus, its batch files and the built lake are cached in bench/.cache/search/ (gitignored):
the first `make bench` writes them (a few minutes), later runs reuse them and report the build
measured then. PARLEY_BENCH_SEARCH_REBUILD=1 measures the build again.

    python -m bench.search   # the figures alone
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench import search_corpus

# One- and two-word queries, each with a filter (the bar's shape), over several languages.
QUERIES = [
    {"q": "refund", "environment": "production"},
    {"q": "password", "role": "user"},
    {"q": "invoice", "source": "email"},
    {"q": "remboursement", "environment": "production"},
    {"q": "退款", "environment": "production"},
    {"q": "refund card", "environment": "production"},
    {"q": "cancel subscription", "role": "user"},
    {"q": "delivery late", "model": "gpt-4o"},
    {"q": "заказ возврат", "environment": "staging"},
    {"q": "café commande", "metadata.customer.tier": "gold"},
]
ROUNDS = 5
BUILD_RECORD = "build.json"
BATCH_ROWS = 1000  # rows per stream batch file


@dataclass(frozen=True)
class BuildFigures:
    seconds: float  # wall
    cpu_seconds: float  # user + system, all threads
    documents: int
    cached: bool  # measured when the lake was built, not in this run


@dataclass(frozen=True)
class SearchFigures:
    build: BuildFigures
    latencies_ms: list[float]
    cold_seconds: list[float]
    index_bytes: int


def _use_lake(lake: Path) -> None:
    from shared.settings import get_settings

    os.environ["LAKE_URI"] = str(lake)
    get_settings.cache_clear()


def ensure_batches() -> Path:
    """The corpus as the stream delivers it: each day's rows in batch files of BATCH_ROWS
    (a lake of `records/…/batch-*.parquet`, no compacted file, no index), written once."""
    batches = search_corpus.corpus_dir() / f"batches-{BATCH_ROWS}"
    done = batches / "done"
    if done.exists():
        return batches
    import duckdb

    from shared.lake.store import BATCH_PREFIX, new_file_name

    shutil.rmtree(batches, ignore_errors=True)
    source = search_corpus.ensure_corpus() / "records"
    db = duckdb.connect()
    for day_folder in sorted(source.glob("tenant=*/date=*")):
        target = batches / "records" / day_folder.relative_to(source)
        staged = target / ".staged"
        target.mkdir(parents=True)
        db.execute(
            f"COPY (SELECT *, (row_number() OVER () - 1) // {BATCH_ROWS} AS chunk "
            f"FROM read_parquet('{day_folder}/*.parquet')) TO '{staged}' "
            "(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (chunk))"
        )
        for part in sorted(staged.glob("chunk=*/*.parquet")):
            db.execute(
                f"COPY (SELECT * EXCLUDE (chunk) FROM read_parquet('{part}', "
                f"hive_partitioning = true)) TO '{target / new_file_name(BATCH_PREFIX)}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
        shutil.rmtree(staged)
    db.close()
    done.write_text("")
    return batches


def build(lake: Path) -> BuildFigures:
    """Compaction + index build as the compaction function runs them (its Compactor with
    search's hook, shared.services.lake_compactor) over the corpus in stream batch files:
    wall seconds, and the CPU seconds (user + system, every thread) this process spent."""
    from shared.lake.compaction import Compactor
    from shared.lake.store import LakeStore
    from shared.services import lake_compactor

    shutil.rmtree(lake, ignore_errors=True)
    shutil.copytree(ensure_batches() / "records", lake / "records")
    _use_lake(lake)  # the hook finds the index's lake in the settings, as in Lambda
    compactor = Compactor(LakeStore(str(lake)), on_compacted=lake_compactor().on_compacted)
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    report = compactor.run()
    wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    if report.failed:
        raise RuntimeError(f"compaction failed: {report.failed}")
    return BuildFigures(wall, cpu, report.rows_written, cached=False)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ensure_index() -> tuple[Path, BuildFigures]:
    """The built lake (compacted files and index), built once and reused."""
    lake = search_corpus.corpus_dir() / "built"
    record = search_corpus.corpus_dir() / BUILD_RECORD
    if record.exists() and not os.environ.get("PARLEY_BENCH_SEARCH_REBUILD"):
        saved = json.loads(record.read_text())
        return lake, BuildFigures(**saved | {"cached": True})
    record.unlink(missing_ok=True)
    figures = build(lake)
    record.write_text(json.dumps(figures.__dict__ | {"cached": False}))
    return lake, figures


def query_once(params: dict[str, str]) -> int:
    from shared.search import service
    from shared.search.models import parse_request
    from shared.search.views import hit_view

    request = parse_request(params.items())
    page = service.search(search_corpus.TENANT, request)
    return len([hit_view(h, request.highlight_terms) for h in page.hits])


def cold_first_query(lake: Path) -> float:
    """Parent-timed: a fresh interpreter imports the handler and answers one search."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench.search", "--cold", str(lake)],
        check=True,
        env={**os.environ, "LAKE_URI": str(lake)},
    )
    return time.perf_counter() - started


def _cold(lake: Path) -> None:
    from bench.bodies import LambdaContext, status_of
    from functions.search.app import handler

    # The events/ sample as API Gateway sends it, for the bench's tenant and first query.
    event = json.loads((Path(__file__).parent.parent / "events" / "search.json").read_text())
    event["requestContext"]["authorizer"]["tenantId"] = search_corpus.TENANT
    event["queryStringParameters"] = QUERIES[0]
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in QUERIES[0].items()}
    status, body = status_of(handler(event, cast(Any, LambdaContext())))
    assert status == 200, body
    assert body["data"], "the first query found nothing"


def measure() -> SearchFigures:
    lake, built = ensure_index()
    _use_lake(lake)
    for params in QUERIES:  # warm: the index opened and its pages read once
        assert query_once(params) > 0, params
    latencies = []
    for _ in range(ROUNDS):
        for params in QUERIES:
            started = time.perf_counter()
            query_once(params)
            latencies.append((time.perf_counter() - started) * 1000)
    colds = [cold_first_query(lake) for _ in range(3)]
    size = sum(p.stat().st_size for p in (lake / "index").rglob("*") if p.is_file())
    return SearchFigures(built, latencies, colds, size)


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--cold":
        _cold(Path(sys.argv[2]))
    else:
        figures = measure()
        print(figures.__dict__ | {"latencies_ms": None})
        print(
            f"p50 {percentile(figures.latencies_ms, 50):.1f} ms, "
            f"p95 {percentile(figures.latencies_ms, 95):.1f} ms"
        )
