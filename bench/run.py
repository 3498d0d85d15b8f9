"""`make bench`: the quality bars of ARCHITECTURE.md, each as a ratio measured side by side
in this run against its target, with PASS/FAIL. A report, not a test: it always exits 0.

Absolute times depend on the machine and are shown only as context for the ratios.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable

from bench import env

RESULTS: list[tuple[str, bool | None]] = []  # (bar, passed); None when it could not run
NOOP_MS: list[float] = []  # bar 2's handler time, for bar 3's sequential estimate


def _verdict(name: str, ok: bool) -> str:
    RESULTS.append((name, ok))
    return "PASS" if ok else "FAIL"


def _line(label: str, value: str, note: str = "") -> None:
    print(f"    {label:<30} {value:>12}   {note}".rstrip())


def _bar(title: str, name: str, body: Callable[[], None]) -> None:
    print(f"\n{title}")
    try:
        body()
    except Exception as exc:
        RESULTS.append((name, None))
        print(f"    ERROR {type(exc).__name__}: {exc}")
        print("    " + "".join(traceback.format_exc(limit=3)).replace("\n", "\n    "))
    sys.stdout.flush()


def cold_start() -> None:
    from bench import coldstart

    r = coldstart.measure(runs=9)
    print(f"    fresh interpreters, {r.runs} interleaved runs each, medians; warm __pycache__")
    _line("floor (boto3 + client)", f"{r.floor_ms:.1f} ms")
    _line(
        "ingest handler",
        f"{r.handler_ms:.1f} ms",
        f"in-process: import app {r.import_ms:.0f} ms, DynamoDB client {r.client_ms:.0f} ms, "
        f"first request {r.request_ms:.1f} ms (status {r.status})",
    )
    _line(
        "ratio",
        f"{r.ratio:.2f}x",
        f"target <= 1.30x   {_verdict('cold start', r.ratio <= 1.3 and r.status == 200)}",
    )
    extra = r.no_pyc_ms - r.handler_ms
    _line(
        "same, repo code without .pyc",
        f"{r.no_pyc_ms:.1f} ms",
        f"{r.no_pyc_ms / r.floor_ms:.2f}x; compiling shared/ + functions/ costs {extra:+.0f} ms "
        f"({extra / r.handler_ms:+.0%}), which the layer's .pyc avoids",
    )


def handler_work(request: object) -> Callable[[], None]:
    def run() -> None:
        from bench import throughput

        assert isinstance(request, throughput.Request)
        r = throughput.handler_work(request)
        print(
            f"    {r.events:,} events, {r.body_bytes / 1e6:.2f} MB, storage a no-op; "
            f"{r.runs} interleaved runs, medians"
        )
        _line("pydantic validate_json", f"{r.baseline_ms:.1f} ms", "bench.baseline request model")
        _line("handler (Mangum, base64 body)", f"{r.handler_ms:.1f} ms")
        _line(
            "ratio",
            f"{r.ratio:.2f}x",
            f"target <= 2.50x   {_verdict('handler work', r.ratio <= 2.5)}",
        )
        NOOP_MS.append(r.handler_ms)

    return run


def parallel_writes(request: object) -> Callable[[], None]:
    def run() -> None:
        from bench import throughput

        assert isinstance(request, throughput.Request)
        noop_ms = NOOP_MS[0] if NOOP_MS else 0.0
        r = throughput.parallel_writes(request, noop_ms)
        print(
            f"    {r.records:,} records in {r.batches} BatchWriteItem calls of 10 ms each, "
            f"concurrency {r.concurrency}; {r.runs} runs, medians"
        )
        _line("handler, fake client", f"{r.parallel_ms:.1f} ms", "full invocation")
        _line(
            "ratio to 150 ms budget",
            f"{r.ratio:.2f}x",
            f"target < 1.00x   {_verdict('parallel writes', r.parallel_ms < throughput.BUDGET_MS)}",
        )
        _line(
            "sequential, estimated",
            f"{r.sequential_estimate_ms:.0f} ms",
            "no-op handler + batches x 10 ms",
        )
        _line("sequential, measured", f"{r.sequential_ms:.0f} ms", "same writer, concurrency 1")
        _line(
            "real botocore client",
            f"{r.botocore_ms:.1f} ms",
            f"{r.botocore_ms / throughput.BUDGET_MS:.2f}x budget: validation, serialization, "
            "signing and parsing included (HTTP replaced by 10 ms)",
        )

    return run


def peak_memory() -> None:
    from bench import memory

    for r in memory.measure():
        label = "ingest" if r.kind == "ingest" else "vogent-raw"
        print(
            f"    {label}: {r.body_bytes / 1e6:.2f} MB body -> {r.records:,} records "
            f"(status {r.status}, {r.request_ms:.0f} ms), fresh process, storage a no-op"
        )
        inherited = (
            f"; ru_maxrss {r.ru_maxrss_mb:.1f} MB includes the parent's peak (kept across exec)"
            if r.ru_maxrss_mb > r.rss_peak_mb * 1.05
            else f"; ru_maxrss {r.ru_maxrss_mb:.1f} MB"
        )
        _line(
            "peak RSS (VmHWM)",
            f"{r.rss_peak_mb:.1f} MB",
            f"{r.rss_before_mb:.1f} MB before the request{inherited}",
        )
        _line("tracemalloc peak, request only", f"{r.traced_peak_mb:.1f} MB")
        ok = r.rss_peak_mb < memory.LIMIT_MB
        _line(
            "ratio to 256 MB",
            f"{r.ratio:.2f}x",
            f"target < 1.00x   {_verdict(f'memory ({label})', ok)}",
        )


def append_cost() -> None:
    from bench import conversations

    r = conversations.measure()
    print(
        f"    append 1 message, real handler + botocore, HTTP replaced by an in-memory table; "
        f"{r.runs} interleaved runs, medians"
    )
    _line("to a 1-message conversation", f"{r.small_ms:.1f} ms", "10 ms per DynamoDB call")
    _line(
        "to a 499-message one",
        f"{r.large_ms:.1f} ms",
        f"{r.large_bytes / 1e3:.0f} KB of messages; the append makes it 500",
    )
    _line(
        "ratio",
        f"{r.ratio:.2f}x",
        f"target <= 1.50x   {_verdict('append cost', r.ratio <= 1.5)}",
    )
    _line(
        "same without latency (CPU)",
        f"{r.cpu_ratio:.2f}x",
        f"{r.cpu_small_ms:.1f} ms vs {r.cpu_large_ms:.1f} ms: reading and answering the whole "
        "transcript (seed 004's answer) grows with it; the write does not",
    )


def otel_mapping() -> None:
    from bench import otel

    r = otel.measure()
    print(
        f"    {r.spans:,} moda-ai chat spans resending their history, {r.body_bytes / 1e6:.2f} MB "
        f"-> {r.records:,} records; storage not included; {r.runs} interleaved runs, medians"
    )
    _line("bare parse (FromString)", f"{r.parse_ms:.2f} ms", "upb: strings stay in C until read")
    _line("decode + map", f"{r.map_ms:.1f} ms")
    _line(
        "ratio",
        f"{r.ratio:.1f}x",
        f"target <= 3.00x   {_verdict('otel decode+map', r.ratio <= 3.0)}",
    )
    _line(
        "parse + read each attribute",
        f"{r.walk_ms:.1f} ms",
        f"{r.walk_ms / r.parse_ms:.1f}x parse: the floor of any mapping in Python; "
        f"decode + map is {r.map_ms / r.walk_ms:.1f}x this",
    )


def main() -> int:
    env.apply()
    started = time.perf_counter()
    print(
        f"Parley bench: CPython {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs. Ratios are measured side by side in this "
        "run;\nabsolute times are context only (Lambda runs arm64)."
    )
    _bar(
        "[1] Cold start: import + first request, vs the boto3 client floor",
        "cold start",
        cold_start,
    )

    from bench import throughput

    request = throughput.standard_request()
    _bar(
        "[2] Handler's own work vs pydantic validate_json, same body",
        "handler work",
        handler_work(request),
    )
    _bar(
        "[3] Storing that request with 10 ms per DynamoDB call",
        "parallel writes",
        parallel_writes(request),
    )
    _bar("[4] Peak memory for a ~5 MB body", "memory", peak_memory)
    _bar(
        "[5] Append to a 500-message conversation vs to a 1-message one",
        "append cost",
        append_cost,
    )
    _bar(
        "[6] POST /v1/traces: decode + map a ~1 MB OTLP protobuf vs opentelemetry-proto's parse",
        "otel decode+map",
        otel_mapping,
    )

    passed = sum(ok is True for _, ok in RESULTS)
    failed = [name for name, ok in RESULTS if ok is False]
    errors = [name for name, ok in RESULTS if ok is None]
    print(
        f"\nSummary: {passed}/{len(RESULTS)} PASS"
        + (f"; FAIL: {', '.join(failed)}" if failed else "")
        + (f"; ERROR: {', '.join(errors)}" if errors else "")
        + f"   ({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
