"""Analytics on 1,000,000 messages: the search bench's corpus (bench/search_corpus.py, a lake
of the contract's schema, 30 daily partitions of one tenant, cached in bench/.cache/) queried
through shared.analytics (parse, SQL, DuckDB, views), warm.

    python -m bench.analytics   # the figures alone
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bench import search_corpus

# Dashboard-shaped queries over the whole month, each a chart the console would draw.
QUERIES = [
    {"metric": "messages", "groupBy": "day,environment"},
    {"metric": "conversations", "groupBy": "day,source"},
    {"metric": "tokens", "groupBy": "model"},
    {"metric": "cost", "groupBy": "day,model"},
    {"metric": "latencyMs", "groupBy": "day", "environment": "production"},
    {"metric": "messages", "groupBy": "metadata.plan", "metadata.customer.tier": "gold"},
    # The dashboard's rankings (docs/dashboard.md): one group per conversation, the top 10 kept.
    {"metric": "latencyMs", "groupBy": "conversationId", "sort": "-value", "limit": "10"},
    {"metric": "cost", "groupBy": "conversationId", "sort": "-value", "limit": "10"},
]
ROUNDS = 5
NOW = datetime(2026, 1, 31, 23, tzinfo=UTC)


@dataclass(frozen=True)
class AnalyticsFigures:
    messages: int
    latencies_ms: list[float]


def run_once(params: dict[str, str]) -> int:
    from shared import services
    from shared.analytics import service
    from shared.analytics.models import parse_request
    from shared.analytics.views import row_view

    request = parse_request([*params.items(), ("since", "2026-01-01")], NOW)
    rows = service.run(services.lake_store(), search_corpus.TENANT, request)
    return len([row_view(r) for r in rows])


def measure() -> AnalyticsFigures:
    from shared.settings import get_settings

    lake = search_corpus.ensure_corpus()
    os.environ["LAKE_URI"] = str(lake)
    get_settings.cache_clear()
    for params in QUERIES:  # warm: the OS page cache holds the files, as on a warm Lambda
        run_once(params)
    latencies = []
    for _ in range(ROUNDS):
        for params in QUERIES:
            started = time.perf_counter()
            run_once(params)
            latencies.append((time.perf_counter() - started) * 1000)
    return AnalyticsFigures(search_corpus.MESSAGES, latencies)


if __name__ == "__main__":
    from bench.search import percentile

    figures = measure()
    print(
        f"p50 {percentile(figures.latencies_ms, 50):.0f} ms, "
        f"p95 {percentile(figures.latencies_ms, 95):.0f} ms over {len(figures.latencies_ms)}"
    )
