"""Bar 4: peak memory of a fresh process answering one ~5 MB request (storage is a no-op).

The parent writes the API Gateway event to a file; each child loads it as the Lambda runtime
does, invokes the handler once and reports. Peak RSS and tracemalloc run in separate children,
since tracemalloc's own bookkeeping would inflate RSS.

Child: python -m bench.memory {ingest|vogent} EVENT_FILE {rss|tracemalloc}
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bodies import api_event, body, ingest_events, vogent_calls
from bench.env import PYTHON, REPO, bench_env

LIMIT_MB = {"ingest": 160.0, "vogent": 256.0}  # the bars of issue 11
APPS = {
    "ingest": ("functions.ingest.app", "/v1/ingest"),
    "vogent": ("functions.ingest_vogent_raw.app", "/v1/ingest/vogent-raw"),
}


@dataclass
class MemoryUse:
    kind: str
    body_bytes: int
    records: int
    status: int
    limit_mb: float
    rss_before_mb: float
    rss_peak_mb: list[float]  # one per fresh process
    ru_maxrss_mb: float
    traced_peak_mb: float
    request_ms: float


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mb() -> float:
    """This process's peak RSS. On Linux, ru_maxrss survives exec, so a child spawned by a big
    parent reports at least the parent's peak; VmHWM belongs to the new address space only."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _maxrss_mb()


def child(kind: str, event_file: str, mode: str) -> dict[str, Any]:
    import importlib
    import time
    import tracemalloc

    from bench import env

    env.apply()
    handler = importlib.import_module(APPS[kind][0]).handler

    from bench import stubs
    from bench.bodies import LambdaContext, status_of

    with open(event_file, "rb") as f:
        event = json.loads(f.read())
    noop = stubs.NoopWriter()
    with stubs.writer(noop):
        before = _rss_mb()
        if mode == "tracemalloc":
            tracemalloc.start()
        start = time.perf_counter()
        response = handler(event, LambdaContext())
        seconds = time.perf_counter() - start
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if mode == "tracemalloc" else 0.0
        peak = _rss_mb()
        maxrss = _maxrss_mb()
    status, answer = status_of(response)
    return {
        "status": status,
        "count": answer.get("count", 0),
        "message": answer.get("message"),
        "stored": noop.items,
        "rss_before": before,
        "rss_peak": peak,
        "ru_maxrss": maxrss,
        "traced_peak": traced,
        "seconds": seconds,
    }


def _spawn(kind: str, event_file: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-m", "bench.memory", kind, str(event_file), mode],
        env=bench_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child {kind}/{mode} failed:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def measure(runs: int = 3) -> list[MemoryUse]:
    bodies = {
        # 1,000 standard/channel/tool_call events of ~5 KB: just under the 5 MiB body limit.
        "ingest": body(ingest_events(count=1000, event_bytes=4900)),
        # 1,000 calls of ~5 KB, each fanning out to 40 records: 40,000 records.
        "vogent": body(vogent_calls(count=1000, records_per_call=40, call_bytes=5000)),
    }
    # Warm-up: any .pyc still missing is written now, not compiled inside a measured child.
    warm = "import bench.memory, bench.stubs, " + ", ".join(module for module, _ in APPS.values())
    subprocess.run([PYTHON, "-c", warm], env=bench_env(), cwd=REPO, capture_output=True, check=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        for kind, raw in bodies.items():
            event_file = Path(tmp) / f"{kind}.json"
            event_file.write_text(json.dumps(api_event(APPS[kind][1], raw)))
            peaks = [_spawn(kind, event_file, "rss") for _ in range(runs)]
            rss = peaks[0]
            traced = _spawn(kind, event_file, "tracemalloc")
            if rss["status"] != 200:
                raise RuntimeError(f"{kind}: handler answered {rss['status']}: {rss['message']}")
            results.append(
                MemoryUse(
                    kind=kind,
                    body_bytes=len(raw),
                    records=rss["count"],
                    status=rss["status"],
                    limit_mb=LIMIT_MB[kind],
                    rss_before_mb=rss["rss_before"],
                    rss_peak_mb=[p["rss_peak"] for p in peaks],
                    ru_maxrss_mb=rss["ru_maxrss"],
                    traced_peak_mb=traced["traced_peak"],
                    request_ms=rss["seconds"] * 1000,
                )
            )
    return results


if __name__ == "__main__":
    print(json.dumps(child(*sys.argv[1:4])))
