"""`make dev`'s startup with a large data folder (docs/local.md): 1,000,000 records of 1,000
conversations in the embedded store's snapshot, then `python -m devtools.server` started on it
a few times, timed from spawn to its "Listening on" line.

The folder is built once (about a minute) and kept in bench/.cache: the records go straight
into moto's table, as the ingest handler's items (pk, sk, ok, env, rec), their stream records
dropped as if every stream-fed function had read them (as a long-running `make dev` drops
them, devtools/durable.py), then one snapshot is written.

    python -m bench.datafolder [RECORDS]    build if needed, then measure
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = 1_000_000
CONVERSATIONS = 1_000
RUNS = 3
STARTUP_LIMIT_SECONDS = 120
_VERSION = "v1"  # bump when the folder's layout or the items' shape changes
_LISTENING = re.compile(r"^Listening on (http://\S+)")
_LOADED = re.compile(r"loaded in ([\d.]+) s")


@dataclass(frozen=True)
class Startup:
    records: int
    seconds: list[float]  # spawn → "Listening on", per run
    load_seconds: list[float]  # of which: snapshot + journal (the server's own figure)
    rss_mb: float  # the server's resident memory once listening
    snapshot_mb: float


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PARLEY_"))}
    env.update(
        PARLEY_DATA_DIR=str(folder),
        PARLEY_PORT="0",
        PARLEY_DEV_STATE=str(folder.parent / "dev.json"),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    return env


def build(folder: Path, records: int) -> None:
    """Write a data folder holding `records` records (this process's moto: run it alone)."""
    from moto.dynamodb.models import dynamodb_backends

    from devtools.durable import DurableStore
    from devtools.local import TABLE_PREFIX, ensure_aws_environment
    from devtools.moto_inprocess import dispatch_in_process
    from devtools.server import ensure_tables, start_moto
    from devtools.template import load_template, table_environment

    ensure_aws_environment(local_endpoint=True)
    endpoint, server = start_moto()
    dispatch_in_process(endpoint)
    store = DurableStore(folder)
    store.open()
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
    template = load_template()
    ensure_tables(client, template)
    name = table_environment(template, TABLE_PREFIX)["RECORDS_TABLE"]
    table = next(iter(dynamodb_backends.values()))[os.environ["AWS_REGION"]].get_table(name)
    for n in range(records):
        conversation = f"conv-{n % CONVERSATIONS:04d}"
        record = {
            "id": f"rec_{n:032x}",
            "conversation_id": conversation,
            "message_source": "chat",
            "environment": "production",
            "timestamp": f"2026-11-{1 + n % 28:02d}T12:00:00.000Z",
            "received_at": "2026-12-01T12:00:00.000Z",
            "request_id": f"req-{n // 100}",
            "has_tool_use": False,
            "trace_id": conversation,
            "role": "user" if n % 2 else "assistant",
            "message": f"message {n}: how do I reset my password on the billing page?",
        }
        table.put_item(
            {
                "pk": {"S": f"bench#{conversation}"},
                "sk": {"S": record["id"]},
                "ok": {"S": f"{record['timestamp']}#{n:020d}#000000"},
                "env": {"S": "production"},
                "rec": {"S": json.dumps(record, separators=(",", ":"))},
            }
        )
    shard = table.stream_shard
    if shard is not None:  # read by every stream-fed function long ago
        shard.starting_sequence_number += len(shard.items)
        shard.items.clear()
    store.snapshot()
    store.close()
    server.stop()


def cached_folder(records: int) -> Path:
    """The data folder of `records` records, built (in a child process) unless cached."""
    folder = ROOT / "bench" / ".cache" / f"datafolder-{records}-{_VERSION}" / "data"
    if not (folder / "store").is_dir() or not any((folder / "store").glob("snapshot-*")):
        shutil.rmtree(folder.parent, ignore_errors=True)
        folder.mkdir(parents=True)
        subprocess.run(
            [sys.executable, "-m", "bench.datafolder", "--build", str(folder), str(records)],
            cwd=ROOT,
            env=_environment(folder),
            check=True,
        )
    return folder


def start_once(folder: Path) -> tuple[float, float, float]:
    """(seconds to "Listening on", the server's load figure, its RSS in MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.server"],
        cwd=ROOT,
        env=_environment(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    found: dict[str, float] = {}
    lines: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if match := _LOADED.search(line):
                found["load"] = float(match.group(1))
            if _LISTENING.match(line):
                found["ready"] = time.perf_counter() - started
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        if not ready.wait(STARTUP_LIMIT_SECONDS) or "ready" not in found:
            raise RuntimeError("the server did not start:\n" + "".join(lines[-20:]))
        status = Path(f"/proc/{process.pid}/status").read_text()
        rss_kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return found["ready"], found.get("load", 0.0), rss_kb / 1024


def measure(records: int = RECORDS, runs: int = RUNS) -> Startup:
    folder = cached_folder(records)
    results = [start_once(folder) for _ in range(runs)]
    snapshot = max((folder / "store").glob("snapshot-*.pickle"))
    return Startup(
        records,
        [r[0] for r in results],
        [r[1] for r in results],
        max(r[2] for r in results),
        snapshot.stat().st_size / 1e6,
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--build"]:
        build(Path(argv[1]), int(argv[2]))
        return 0
    records = int(argv[0]) if argv else RECORDS
    tempfile.tempdir = None
    result = measure(records)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
