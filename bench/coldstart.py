"""Bar 1: cold start of the ingest handler against the floor of creating a DynamoDB client.

Each sample is a fresh interpreter, timed from the parent (start to exit). The handler process
imports functions.ingest.app and answers one small request; its DynamoDB client is the real one
the wiring builds, with only the HTTP send replaced, so client creation, serialization and
signing are all paid as in Lambda. ARCHIVE_BUCKET is set, as the template sets it on the ingest
functions: the request is archived too, its S3 PUT answered at botocore's `before-send` hook.

Wall clock on a shared machine moves with its load, so the same three commands (floor, repo,
layer) also run once each under valgrind's callgrind, which counts the instructions each process
executes from start to exit: a figure that does not depend on the load (within ~0.1% between
runs), given beside the wall-clock ratio.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
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

from botocore.handlers import BUILTIN_HANDLERS

class Raw:
    def __init__(self, data):
        self.data = data
    def stream(self, **kw):
        yield self.data

def send(request, **kw):
    return AWSResponse(request.url, 200, {}, Raw(b'{"UnprocessedItems":{}}'))

def s3_send(request, **kw):
    archived.append(request.url)
    return AWSResponse(request.url, 200, {}, Raw(b""))

archived = []
BUILTIN_HANDLERS.append(("before-send.s3", s3_send))  # sessions made from now on (as moto does)

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
                  "request": t3 - t2, "archived": len(archived), "shared": shared.__file__}))
"""


@dataclass
class ColdStart:
    runs: int
    floor_ms: list[float]
    repo_ms: list[float]  # the repo's code, warm __pycache__
    layer_ms: list[float]  # the layer as `make build` packages it, function code without .pyc
    reports: list[dict[str, Any]]
    layer_bytes: int
    # Instructions executed (callgrind), one run each; None where valgrind is not installed.
    instructions: Instructions | None = None


@dataclass
class Instructions:
    floor: int
    repo: int
    layer: int


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{args[:2]} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def _child_report(stdout: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    if report["status"] != 200 or report["archived"] != 1:
        raise RuntimeError(f"the handler's first request did not store and archive: {report}")
    return report


VALGRIND = "valgrind"
# callgrind's summary line on stderr, e.g. `==123== Collected : 1134991944` (its one event, Ir).
_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)$", re.MULTILINE)


def valgrind_command(args: list[str]) -> list[str] | None:
    """`args` under callgrind, counting every instruction from start to exit (no cache or branch
    simulation, nothing written), or None without valgrind."""
    valgrind = shutil.which(VALGRIND)
    if valgrind is None:
        return None
    return [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *args]


def collected(stderr: str) -> int:
    """The instruction count in callgrind's summary (the last, should a child have printed one)."""
    found = _COLLECTED.findall(stderr)
    if not found:
        raise RuntimeError(f"no callgrind summary in:\n{stderr[-2000:]}")
    return int(found[-1])


def count_instructions(
    runs: dict[str, tuple[list[str], dict[str, str], Path]],
) -> dict[str, int] | None:
    """Each named command once under callgrind, all at once (the counts do not depend on the
    machine's load, so running them side by side only saves time). A fixed PYTHONHASHSEED keeps
    set and dict orders, and so the count, the same from run to run."""
    procs: dict[str, subprocess.Popen[str]] = {}
    for name, (args, env, cwd) in runs.items():
        command = valgrind_command(args)
        if command is None:
            return None
        procs[name] = subprocess.Popen(
            command,
            env={**env, "PYTHONHASHSEED": "0"},
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    counts: dict[str, int] = {}
    for name, proc in procs.items():
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"{name} under valgrind failed:\n{err[-2000:]}")
        if name != "floor":
            _child_report(out)  # the counted run answered and archived its request, too
        counts[name] = collected(err)
    return counts


def build_layer(into: Path) -> Path:
    """The SharedLayer exactly as `sam build` makes it (the Makefile's build-SharedLayer recipe:
    pinned runtime deps, shared/, .pyc with unchecked hashes), for this host's platform."""
    done = subprocess.run(
        [
            "make",
            "-s",
            "build-SharedLayer",
            f"ARTIFACTS_DIR={into}",
            f"LAYER_ARCH={platform.machine()}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"make build-SharedLayer failed:\n{done.stderr[-2000:]}")
    return into / "python"


# What template.yaml sets on the ingest function beside table names, so the bench runs what
# Lambda runs: the raw archive on, pydantic's plugin scan off.
LAMBDA_ENV = {"ARCHIVE_BUCKET": "bench-archive", "PYDANTIC_DISABLE_PLUGINS": "__all__"}


def measure(runs: int = 10, *, instructions: bool = True) -> ColdStart:
    env = bench_env(LOG_LEVEL="INFO", **LAMBDA_ENV)
    events = ingest_events(count=3, event_bytes=600)
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        event_file = Path(tmp) / "event.json"
        event_file.write_text(json.dumps(api_event("/v1/ingest", body(events))))
        layer = build_layer(Path(tmp) / "layer")
        layer_bytes = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
        # Lambda's /var/task: the function's code only, read-only (no __pycache__ written).
        task = Path(tmp) / "task"
        shutil.copytree(
            REPO / "functions", task / "functions", ignore=shutil.ignore_patterns("__pycache__")
        )
        layer_env = bench_env(
            LOG_LEVEL="INFO", PYTHONPATH=str(layer), PYTHONDONTWRITEBYTECODE="1", **LAMBDA_ENV
        )
        floor = [PYTHON, "-c", FLOOR]
        handler = [PYTHON, "-c", HANDLER, str(event_file)]
        # Warm-up: fills __pycache__ and the page cache; not counted.
        _run(floor, env, REPO)
        _run(handler, env, REPO)
        _run(handler, layer_env, task)
        floor_ms: list[float] = []
        repo_ms: list[float] = []
        layer_ms: list[float] = []
        reports: list[dict[str, Any]] = []
        for _ in range(runs):  # alternating, so drifts in machine load hit all alike
            floor_ms.append(_run(floor, env, REPO)[0])
            elapsed, out = _run(handler, env, REPO)
            repo_ms.append(elapsed)
            reports.append(_child_report(out))
            elapsed, out = _run(handler, layer_env, task)
            layer_ms.append(elapsed)
            if not _child_report(out)["shared"].startswith(str(layer)):
                raise RuntimeError("the layer run did not import the layer's shared package")
        counts = (
            count_instructions(
                {
                    "floor": (floor, env, REPO),
                    "repo": (handler, env, REPO),
                    "layer": (handler, layer_env, task),
                }
            )
            if instructions and not os.environ.get("PARLEY_BENCH_NO_VALGRIND")
            else None
        )
    counted = Instructions(counts["floor"], counts["repo"], counts["layer"]) if counts else None
    return ColdStart(runs, floor_ms, repo_ms, layer_ms, reports, layer_bytes, counted)
