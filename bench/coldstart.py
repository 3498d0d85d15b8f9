"""Bar 1: cold start of the ingest handler against the floor of creating a DynamoDB client.

Each sample is a fresh interpreter, timed from the parent (start to exit). The handler process
imports functions.ingest.app and answers one small request; its DynamoDB client is the real one
the wiring builds, with only the HTTP send replaced, so client creation, serialization and
signing are all paid as in Lambda.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

from bench.bodies import api_event, body, ingest_events
from bench.env import PYTHON, REPO, bench_env

FLOOR = "import boto3; boto3.client('dynamodb')"

# Runs in the child: stdlib and the code under test only (importing bench would add its cost).
HANDLER = """
import time
t0 = time.perf_counter()
from functions.ingest.app import handler
t1 = time.perf_counter()
import json, sys
from botocore.awsrequest import AWSResponse
from shared import dynamo

class Raw:
    def stream(self, **kw):
        yield b'{"UnprocessedItems":{}}'

def send(request, **kw):
    return AWSResponse(request.url, 200, {}, Raw())

class Context:
    def get_remaining_time_in_millis(self):
        return 29000

dynamo.default_client().meta.events.register("before-send.dynamodb", send)
t2 = time.perf_counter()
with open(sys.argv[1]) as f:
    event = json.load(f)
response = handler(event, Context())
t3 = time.perf_counter()
import shared
print(json.dumps({"status": response["statusCode"], "import": t1 - t0, "client": t2 - t1,
                  "request": t3 - t2, "shared": shared.__file__}))
"""


@dataclass
class ColdStart:
    floor_ms: float
    handler_ms: float
    import_ms: float
    client_ms: float
    request_ms: float
    no_pyc_ms: float
    runs: int
    status: int

    @property
    def ratio(self) -> float:
        return self.handler_ms / self.floor_ms


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def _child_report(stdout: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return report


def measure(runs: int = 9) -> ColdStart:
    env = bench_env(LOG_LEVEL="INFO")
    no_pyc_env = bench_env(LOG_LEVEL="INFO", PYTHONDONTWRITEBYTECODE="1")
    events = ingest_events(count=3, event_bytes=600)
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        event_file = Path(tmp) / "event.json"
        event_file.write_text(json.dumps(api_event("/v1/ingest", body(events))))
        # The repo's code without any .pyc (deps keep theirs): a copy, never written to.
        source_only = Path(tmp) / "src"
        for package in ("shared", "functions"):
            shutil.copytree(
                REPO / package, source_only / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        floor = [PYTHON, "-c", FLOOR]
        handler = [PYTHON, "-c", HANDLER, str(event_file)]
        # Warm-up: fills __pycache__ and the page cache; not counted.
        _run(floor, env, REPO)
        _run(handler, env, REPO)
        floor_ms: list[float] = []
        handler_ms: list[float] = []
        no_pyc_ms: list[float] = []
        reports: list[dict[str, Any]] = []
        for _ in range(runs):
            elapsed, _out = _run(floor, env, REPO)
            floor_ms.append(elapsed)
            elapsed, out = _run(handler, env, REPO)
            handler_ms.append(elapsed)
            reports.append(_child_report(out))
            elapsed, out = _run(handler, no_pyc_env, source_only)
            no_pyc_ms.append(elapsed)
            if not _child_report(out)["shared"].startswith(str(source_only)):
                raise RuntimeError("the source-only run imported the repo's shared package")
    return ColdStart(
        floor_ms=median(floor_ms),
        handler_ms=median(handler_ms),
        import_ms=median(r["import"] for r in reports) * 1000,
        client_ms=median(r["client"] for r in reports) * 1000,
        request_ms=median(r["request"] for r in reports) * 1000,
        no_pyc_ms=median(no_pyc_ms),
        runs=runs,
        status=max(r["status"] for r in reports),
    )
