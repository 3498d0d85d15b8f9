"""Search on 1,000,000 messages (bench/search_corpus.py) through the production code: the index
built partition by partition as compaction's hook builds it (shared.search.index.on_compacted),
queries through shared.search.service and the views, and a cold start through the real handler
(functions/search/app.py) in a fresh interpreter.

The corpus and the index are cached in bench/.cache/search/ (gitignored): the first `make bench`
writes the corpus (~1-2 min) and builds the index (~1 min), later runs reuse both and report
the build time measured then. PARLEY_BENCH_SEARCH_REBUILD=1 measures the build again.

    python -m bench.search   # the figures alone
"""

from __future__ import annotations

import json
import os
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
BUILD_RECORD = "index-build.json"


@dataclass(frozen=True)
class SearchFigures:
    build_seconds: float
    build_cached: bool
    documents: int
    latencies_ms: list[float]
    cold_seconds: list[float]
    index_bytes: int


def _use_lake(lake: Path) -> None:
    from shared.settings import get_settings

    os.environ["LAKE_URI"] = str(lake)
    get_settings.cache_clear()


def build(lake: Path) -> tuple[float, int]:
    """Every partition indexed as compaction would: one on_compacted call per day."""
    from shared.search import index

    shutil.rmtree(lake / "index", ignore_errors=True)
    started = time.perf_counter()
    documents = 0
    for compacted in sorted((lake / "records").glob("tenant=*/date=*/compacted-*.parquet")):
        day = compacted.parent.name.removeprefix("date=")
        documents += index.on_compacted(search_corpus.TENANT, day, str(compacted))
    return time.perf_counter() - started, documents


def ensure_index(lake: Path) -> tuple[float, int, bool]:
    record = search_corpus.corpus_dir() / BUILD_RECORD
    if record.exists() and not os.environ.get("PARLEY_BENCH_SEARCH_REBUILD"):
        saved = json.loads(record.read_text())
        return float(saved["seconds"]), int(saved["documents"]), True
    seconds, documents = build(lake)
    record.write_text(json.dumps({"seconds": seconds, "documents": documents}))
    return seconds, documents, False


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
    lake = search_corpus.ensure_corpus()
    _use_lake(lake)
    build_seconds, documents, cached = ensure_index(lake)
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
    return SearchFigures(build_seconds, cached, documents, latencies, colds, size)


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
