"""Where the handler spends its time: cProfile over repeated invocations, storage a no-op.

    .venv/bin/python -m bench.profile [ingest|vogent] [--runs N] [--top N] [--all]

Prints the top functions by own time and by cumulative time, restricted to shared/ (or to
everything with --all), plus how the total splits between shared/, pydantic, Starlette/Mangum
and the rest. Not part of `make bench`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from typing import Any

from bench import env


def _area(filename: str) -> str:
    if "/shared/" in filename:
        return "shared/"
    for name in ("pydantic_core", "pydantic", "starlette", "mangum", "asyncio", "anyio"):
        if f"/{name}/" in filename:
            return name
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (C)"
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", nargs="?", default="ingest", choices=("ingest", "vogent"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--all", action="store_true", help="do not restrict the lists to shared/")
    args = parser.parse_args()
    env.apply()

    from bench import stubs
    from bench.bodies import LambdaContext, api_event, body, ingest_events, vogent_calls

    handler: Any
    if args.kind == "ingest":
        from functions.ingest.app import handler

        raw = body(ingest_events(1000, 1000))
        event = api_event("/v1/ingest", raw)
    else:
        from functions.ingest_vogent_raw.app import handler as vogent_handler

        handler = vogent_handler
        raw = body(vogent_calls(1000, 40, 5000))
        event = api_event("/v1/ingest/vogent-raw", raw)

    def invoke() -> Any:
        return handler(event, LambdaContext())

    with stubs.writer(stubs.NoopWriter()):
        invoke()
        start = time.perf_counter()
        for _ in range(3):
            invoke()
        plain = (time.perf_counter() - start) / 3 * 1000
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.runs):
            invoke()
        profiler.disable()

    stats = pstats.Stats(profiler)
    raw_stats: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
    raw_stats = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in raw_stats.values())
    areas: dict[str, float] = {}
    for (filename, _, _), (_, _, tt, _, _) in raw_stats.items():
        areas[_area(filename)] = areas.get(_area(filename), 0.0) + tt
    print(
        f"{args.kind}: {len(raw) / 1e6:.2f} MB body, {plain:.1f} ms per request unprofiled; "
        f"{args.runs} profiled runs, {total / args.runs * 1000:.1f} ms per request under cProfile"
    )
    print(
        "own time by area: "
        + ", ".join(f"{a} {t / total:.0%}" for a, t in sorted(areas.items(), key=lambda kv: -kv[1]))
    )

    def show(key: str, title: str) -> None:
        print(f"\n{title}")
        print(f"{'ms/req':>8} {'cum ms':>8} {'calls/req':>10}  function")
        rows = sorted(raw_stats.items(), key=lambda kv: kv[1][2 if key == "tottime" else 3])
        shown = 0
        for (filename, line, name), (_, ncalls, tt, ct, _) in reversed(rows):
            if not args.all and "/shared/" not in filename:
                continue
            where = filename.split("/work/main/")[-1] if "/" in filename else filename
            print(
                f"{tt / args.runs * 1000:8.2f} {ct / args.runs * 1000:8.2f} "
                f"{ncalls / args.runs:10.0f}  {where}:{line}({name})"
            )
            shown += 1
            if shown >= args.top:
                break

    show("tottime", "by own time")
    show("cumtime", "by cumulative time")


if __name__ == "__main__":
    main()
