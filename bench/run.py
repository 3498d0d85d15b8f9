"""`make bench`: every target of issue 11 as a ratio against a floor measured side by side in
this run, printed as `target: <name> <measured> (bar <bar>) met|missed`, with the floor and
min-median-max of each measurement above it. A report, not a test: it always exits 0, and its
last line is `bench: N met, M missed`.

Absolute times depend on the machine and are context only; the verdicts use medians.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from statistics import median

from bench import env

MET: list[str] = []
MISSED: list[str] = []


def spread(samples: Sequence[float], unit: str = "ms", digits: int = 1) -> str:
    """min-median-max, e.g. `21.3-24.6-30.1 ms (n=25)`."""
    low, mid, high = min(samples), median(samples), max(samples)
    return f"{low:.{digits}f}-{mid:.{digits}f}-{high:.{digits}f} {unit} (n={len(samples)})"


def line(label: str, value: str, note: str = "") -> None:
    print(f"    {label:<34} {value:<30} {note}".rstrip())


def target(name: str, measured: float, bar: float, *, unit: str = "x", below: bool = False) -> None:
    """`bar` is an upper bound: inclusive for ratios (<=), strict when `below` (<)."""
    ok = measured < bar if below else measured <= bar
    (MET if ok else MISSED).append(name)
    shown = f"{measured:.2f}x" if unit == "x" else f"{measured:.1f} {unit}"
    limit = f"{'<' if below else '<='} {bar:g}{'x' if unit == 'x' else ' ' + unit}"
    print(f"target: {name} {shown} (bar {limit}) {'met' if ok else 'missed'}")


def section(title: str, names: Sequence[str], body: Callable[[], None]) -> None:
    print(f"\n{title}")
    try:
        body()
    except Exception as exc:
        print(f"    ERROR {type(exc).__name__}: {exc}")
        print("    " + "".join(traceback.format_exc(limit=3)).replace("\n", "\n    "))
        for name in names:  # a target that could not run is not met
            MISSED.append(name)
            print(f"target: {name} error (bar not measured) missed")
    sys.stdout.flush()


def cold_start() -> None:
    from bench import coldstart

    r = coldstart.measure()
    reports = r.reports
    floor = median(r.floor_ms)
    print(f"    fresh interpreters, {r.runs} alternating runs each; parent-timed start to exit")
    line("floor: boto3 + DynamoDB client", spread(r.floor_ms), coldstart.FLOOR)
    line(
        "ingest handler, repo + __pycache__",
        spread(r.repo_ms),
        f"import app {median(x['import'] for x in reports) * 1000:.0f} ms, client "
        f"{median(x['client'] for x in reports) * 1000:.0f} ms, first request "
        f"{median(x['request'] for x in reports) * 1000:.1f} ms "
        f"(status {max(x['status'] for x in reports)})",
    )
    line(
        "ingest handler, built layer",
        spread(r.layer_ms),
        f"make build-SharedLayer for this host ({r.layer_bytes / 1e6:.0f} MB, .pyc), "
        "functions/ without .pyc",
    )
    print(f"    load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    counts = r.instructions
    target("cold start", median(r.repo_ms) / floor, 1.2)
    print(instructions_line(counts.repo, counts.floor) if counts else NO_VALGRIND)
    target("cold start (built layer)", median(r.layer_ms) / floor, 1.2)
    print(instructions_line(counts.layer, counts.floor) if counts else NO_VALGRIND)


NO_VALGRIND = "    instructions: not counted (no valgrind, or PARLEY_BENCH_NO_VALGRIND set)"


def instructions_line(measured: int, floor: int) -> str:
    """The load-independent figure printed under a cold-start verdict (callgrind, one run each),
    e.g. `instructions: 1,612,000,000 vs floor 1,140,000,000 = 1.41x`."""
    return f"    instructions: {measured:,} vs floor {floor:,} = {measured / floor:.2f}x"


def handler_and_writes() -> None:
    from bench import throughput

    request = throughput.standard_request()
    r = throughput.handler_work(request)
    print(
        f"    {r.events:,} events, {r.body_bytes / 1e6:.2f} MB, storage a no-op; interleaved runs"
    )
    line("floor: pydantic validate_json", spread(r.baseline_ms), "bench.baseline request model")
    line("handler (Mangum, base64 body)", spread(r.handler_ms))
    target("handler work", median(r.handler_ms) / median(r.baseline_ms), 2.0)


def parallel_writes() -> None:
    from bench import throughput

    r = throughput.parallel_writes()
    ingest, vogent = r.ingest, r.vogent
    print(
        f"    real botocore client over HTTP into the embedded DynamoDB-protocol server "
        f"(bench.ddbserver), 10 ms per call, concurrency {r.concurrency}"
    )
    line(
        "floor: ceil(batches/conc.) x 10 ms",
        f"{r.floor_ms:.0f} ms",
        f"{ingest.batches} BatchWriteItem calls of 25 for {ingest.records:,} records",
    )
    line("storing the 1,000-event request", spread(ingest.put_ms), "RecordStore.put")
    line("whole invocation", spread(ingest.invocation_ms))
    target("parallel writes", median(ingest.put_ms) / r.floor_ms, 2.0)
    per_record = median(ingest.per_record_ms)
    line(
        "vogent-raw 1,000 calls x 20 entries",
        spread(vogent.invocation_ms),
        f"{vogent.records:,} records, {vogent.batches} calls; storing alone "
        f"{median(vogent.put_ms):.0f} ms",
    )
    line(
        "per record: ingest / vogent",
        f"{per_record * 1000:.1f} / {median(vogent.per_record_ms) * 1000:.1f} us",
        "whole invocations",
    )
    target("vogent fan-out per record", median(vogent.per_record_ms) / per_record, 1.5)


def peak_memory() -> None:
    from bench import memory

    for r in memory.measure():
        label = "ingest" if r.kind == "ingest" else "vogent-raw"
        print(
            f"    {label}: {r.body_bytes / 1e6:.2f} MB body -> {r.records:,} records "
            f"(status {r.status}, {r.request_ms:.0f} ms), fresh processes, storage a no-op"
        )
        line("peak RSS (VmHWM)", spread(r.rss_peak_mb, "MB"), f"{r.rss_before_mb:.1f} MB before")
        line("tracemalloc peak, request only", f"{r.traced_peak_mb:.1f} MB")
        name = (
            "peak RSS 5 MB ingest body" if r.kind == "ingest" else "peak RSS 40,000-record fan-out"
        )
        target(name, median(r.rss_peak_mb), r.limit_mb, unit="MB", below=True)


def append_cost() -> None:
    from bench import conversations

    r = conversations.measure()
    print("    append 1 message, real handler + botocore, HTTP replaced by an in-memory table")
    line("floor: to a 1-message conversation", spread(r.small_ms), "10 ms per DynamoDB call")
    line(
        "to a 499-message one",
        spread(r.large_ms),
        f"{r.large_bytes / 1e3:.0f} KB of messages; the append makes it 500",
    )
    line(
        "same without latency (CPU), medians",
        f"{r.cpu_small_ms:.1f} vs {r.cpu_large_ms:.1f} ms",
        "the answer carries the whole transcript; the write is the same size",
    )
    target("append to 500 messages", median(r.large_ms) / median(r.small_ms), 1.5)


def otel_mapping() -> None:
    from bench import otel

    r = otel.measure()
    print(
        f"    {r.spans:,} moda-ai chat spans resending their history, {r.body_bytes / 1e6:.2f} MB "
        f"-> {r.records:,} records; storage not included; interleaved runs"
    )
    parse = median(r.parse_ms)
    line("floor: FromString (bare parse)", spread(r.parse_ms, digits=2), "upb: strings stay in C")
    line("decode + map", spread(r.map_ms))
    line(
        "parse + read each attribute once",
        spread(r.walk_ms),
        f"{median(r.walk_ms) / parse:.1f}x parse: the floor of any mapping in Python",
    )
    line("decode + map, per MB", spread(r.map_ms_per_mb), f"{median(r.map_ms) / parse:.1f}x parse")
    line(
        "/v1/ingest handler, per MB",
        spread(r.ingest_ms_per_mb),
        f"its 1,000-event {r.ingest_bytes / 1e6:.2f} MB body, storage a no-op, interleaved",
    )
    target(
        "otel decode+map per MB vs ingest",
        median(r.map_ms_per_mb) / median(r.ingest_ms_per_mb),
        1.2,
    )


def search() -> None:
    from bench import search as search_bench

    f = search_bench.measure()
    p50 = search_bench.percentile(f.latencies_ms, 50)
    p95 = search_bench.percentile(f.latencies_ms, 95)
    load = os.getloadavg()[0]
    print(
        f"    {f.build.documents:,} messages of one tenant (bench/search_corpus.py), index "
        f"{f.index_bytes / 1e6:.0f} MB; load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    line(
        "compaction + index build, 30 days",
        f"{f.build.seconds:.1f} s wall, {f.build.cpu_seconds:.1f} s CPU",
        "cached: measured when the lake was built (PARLEY_BENCH_SEARCH_REBUILD=1 redoes it)"
        if f.build.cached
        else "built in this run",
    )
    line("one/two-word queries + a filter", spread(f.latencies_ms), "warm, service + views")
    line("cold: new interpreter, first query", spread(f.cold_seconds, "s", 2), "real handler")
    target("search p50", p50, 100, unit="ms")
    target("search p95", p95, 300, unit="ms")
    target("search cold first query", median(f.cold_seconds), 2, unit="s")
    target("search compaction + index build (1M messages)", f.build.seconds, 60, unit="s")


def search_freshness() -> None:
    from bench import search as search_bench
    from bench import search_freshness as freshness

    delays = [d * 1000 for d in freshness.measure()]
    line("ingest 200 → found by /v1/search", spread(delays), "make dev, one record at a time")
    target("search freshness p50", search_bench.percentile(delays, 50) / 1000, 5, unit="s")
    target("search freshness p95", search_bench.percentile(delays, 95) / 1000, 5, unit="s")


def analytics() -> None:
    from bench import analytics as analytics_bench
    from bench.search import percentile

    f = analytics_bench.measure()
    load = os.getloadavg()[0]
    print(
        f"    {f.messages:,} messages of one tenant over 30 daily partitions (the search "
        f"corpus); load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    line("dashboard queries, whole month", spread(f.latencies_ms), "warm, parse + DuckDB + views")
    target("analytics p95 (1M messages)", percentile(f.latencies_ms, 95), 500, unit="ms")


def clusters() -> None:
    from bench import clusters as clusters_bench

    f = clusters_bench.measure()
    load = os.getloadavg()[0]
    print(
        f"    {f.conversations:,} conversations of one tenant, local embedder; load average "
        f"{load:.1f} on {os.cpu_count()} CPUs"
    )
    line("re-clustering", f"{f.cluster_seconds:.1f} s", f"{f.clusters} clusters, k by silhouette")
    line("one assignment pass", f"{f.assign_seconds:.1f} s", "scan, embed, nearest centroid")
    target("clustering 100,000 conversations", f.cluster_seconds, 300, unit="s")
    # On AWS a conversation waits for the next pass (every 30 s), the lake's batching (~6 s)
    # and the pass itself (docs/clusters.md "Assignment").
    worst = clusters_bench.PASS_INTERVAL_SECONDS + clusters_bench.LAKE_DELAY_SECONDS
    target("cluster assignment (worst case)", worst + f.assign_seconds, 60, unit="s")


def data_folder_startup() -> None:
    from bench import datafolder

    r = datafolder.measure()
    print(
        f"    make dev on a data folder of {r.records:,} records (snapshot {r.snapshot_mb:,.0f} "
        f"MB, docs/local.md); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    line("spawn → Listening on", spread(r.seconds, "s"), "the whole start-up")
    line("of which: snapshot + journal", spread(r.load_seconds, "s"), "the server's own figure")
    line("server RSS once listening", f"{r.rss_mb:,.0f} MB")
    target("make dev start, 1M-record folder", median(r.seconds), 10, unit="s")


SECTIONS: list[tuple[str, tuple[str, ...], Callable[[], None]]] = [
    (
        "Cold start: import + first request",
        ("cold start", "cold start (built layer)"),
        cold_start,
    ),
    (
        "Handler's own work on a 1,000-event ~1 MB body",
        ("handler work",),
        handler_and_writes,
    ),
    (
        "Storing through botocore with 10 ms per DynamoDB call",
        ("parallel writes", "vogent fan-out per record"),
        parallel_writes,
    ),
    (
        "Peak memory",
        ("peak RSS 5 MB ingest body", "peak RSS 40,000-record fan-out"),
        peak_memory,
    ),
    (
        "Append to a 500-message conversation",
        ("append to 500 messages",),
        append_cost,
    ),
    (
        "POST /v1/traces: decode + map a ~1 MB OTLP protobuf",
        ("otel decode+map per MB vs ingest",),
        otel_mapping,
    ),
    (
        "Search over 1,000,000 messages (tantivy index + DuckDB tail, docs/search.md)",
        (
            "search p50",
            "search p95",
            "search cold first query",
            "search compaction + index build (1M messages)",
        ),
        search,
    ),
    (
        "Search freshness on make dev: ingest 200 → found (docs/search.md)",
        ("search freshness p50", "search freshness p95"),
        search_freshness,
    ),
    (
        "Analytics over 1,000,000 messages (DuckDB over the lake, docs/analytics.md)",
        ("analytics p95 (1M messages)",),
        analytics,
    ),
    (
        "Clusters: 100,000 conversations (docs/clusters.md)",
        ("clustering 100,000 conversations", "cluster assignment (worst case)"),
        clusters,
    ),
    (
        "make dev's start-up with a 1,000,000-record data folder (docs/local.md)",
        ("make dev start, 1M-record folder",),
        data_folder_startup,
    ),
]


def main(argv: Sequence[str] = ()) -> int:
    """Every section, or only those whose numbers are given (`python -m bench.run 1`)."""
    env.apply()
    started = time.perf_counter()
    print(
        f"Parley bench: CPython {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs. Figures are min-median-max; verdicts "
        "compare medians\nto a floor measured in this run (Lambda runs arm64)."
    )
    chosen = {int(number) for number in argv}
    for number, (title, names, body) in enumerate(SECTIONS, start=1):
        if not chosen or number in chosen:
            section(f"[{number}] {title}", names, body)
    print(
        f"\n({time.perf_counter() - started:.0f} s)"
        + (f" missed: {', '.join(MISSED)}" if MISSED else "")
    )
    print(f"bench: {len(MET)} met, {len(MISSED)} missed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
