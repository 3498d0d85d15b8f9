"""`make loadtest`: a bounded load on `make dev` over loopback, then proof nothing was lost.

Starts the dev server (python -m devtools.server) on a free port, sends a fixed number of ingest
requests (1-100 events each) from a fixed number of concurrent clients, plus appends to live
conversations, then reads everything back — every record of every conversation (straight
from the embedded store's partitions, conversations in parallel) and every live conversation
(through the API) — and checks that every acknowledged event, and every acknowledged append,
is stored exactly once.
A 503 is resent as docs/guarantees.md says (same Idempotency-Key), as a careful client would. Stops
the server by itself.

The plan runs twice, each time on a new server with a new data folder: with the data folder's
durability off (PARLEY_DEV_DURABLE=0, the store in memory), then on (every acknowledged write
on disk first, as `make dev` runs); `--durability on|off` runs one. Each run ends with

  loadtest: durability <on|off>: <requests> requests, <events> events acknowledged, <n> lost,
  <n> duplicated, <x> req/s, p50 <ms> ms, p99 <ms> ms

and with both, a last line compares their throughputs (target: on within 10 % of off).
`--kill-after N` (durability on) kills the server with SIGKILL once N requests are
acknowledged, restarts it on the same data folder and reads everything back from there: what
a crash may cost is only what was never acknowledged. The exit status is 1 if anything
acknowledged was lost or duplicated (2 if the run itself failed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 180  # a loaded machine, or a large data folder to load
MAX_SENDS = 30  # per request, 503s resent
DURABILITY_TARGET = 0.9  # throughput with durability on, as a share of off's (issue 18)
TENANT = "load"
_LISTENING = re.compile(r"^Listening on (http://\S+)")
_ENDPOINT = re.compile(r"DynamoDB endpoint: (http://\S+)")


@dataclass
class Plan:
    requests: int
    concurrency: int
    conversations: int
    live_conversations: int
    appends: int
    seed: int


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (conversation, text)
    appended: dict[str, list[list[str]]] = field(default_factory=dict)  # conv → calls' texts
    resends: int = 0
    ingested: int = 0  # acknowledged ingest requests
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """One keep-alive connection per thread."""

    def __init__(self, base_url: str, key: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key = key
        self.local = threading.local()

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, float]:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in range(2):  # a keep-alive connection the server closed: reconnect once
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
                self.local.connection = connection
            started = time.perf_counter()
            try:
                connection.request(method, path, data, all_headers)
                response = connection.getresponse()
                raw = response.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self.local.connection = None
                if attempt:
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            return response.status, json.loads(raw) if raw else None, elapsed
        raise AssertionError("unreachable")

    def send(
        self, tally: Tally, method: str, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> Any:
        """Send until an answer other than 503; anything but a 200 stops the run."""
        for _ in range(MAX_SENDS):
            status, answer, elapsed = self.call(method, path, body, headers)
            with tally.lock:
                tally.latencies_ms.append(elapsed)
            if status == 200:
                return answer
            if status != 503:
                raise RuntimeError(f"{method} {path} answered {status}: {answer}")
            with tally.lock:
                tally.resends += 1
            time.sleep(0.05)
        raise RuntimeError(f"{method} {path}: still 503 after {MAX_SENDS} sends")


def ingest(client: Client, tally: Tally, conversations: list[str], rng: random.Random) -> None:
    texts = [(rng.choice(conversations), secrets.token_hex(8)) for _ in range(rng.randint(1, 100))]
    events = [{"conversation_id": c, "role": "user", "message": text} for c, text in texts]
    key = secrets.token_hex(16)  # the same key for every resend: exactly-once (docs/guarantees.md)
    client.send(tally, "POST", "/v1/ingest", {"events": events}, {"Idempotency-Key": key})
    with tally.lock:
        tally.acknowledged += texts
        tally.ingested += 1


def append(client: Client, tally: Tally, conversation: str, rng: random.Random) -> None:
    texts = [secrets.token_hex(8) for _ in range(rng.randint(1, 5))]
    body = {"messages": [{"role": "user", "content": text} for text in texts]}
    client.send(tally, "POST", f"/api/v1/conversations/{conversation}/messages", body)
    with tally.lock:
        tally.appended.setdefault(conversation, []).append(texts)


def drive(
    client: Client, plan: Plan, tally: Tally, on_acknowledged: Callable[[int], None] | None = None
) -> float:
    """Every request of the plan at `concurrency`; returns the wall time in seconds. With
    `on_acknowledged` (told the count after each acknowledged request), a request the server
    never answers (it was killed) is left unacknowledged instead of failing the run."""
    rng = random.Random(plan.seed)
    conversations = [f"load-{plan.seed}-{i}" for i in range(plan.conversations)]
    live = [
        client.send(
            tally, "POST", "/api/v1/conversations", {"promptId": "load", "status": "active"}
        )["id"]
        for _ in range(plan.live_conversations)
    ]
    jobs: list[tuple[str, int]] = [("ingest", i) for i in range(plan.requests)]
    jobs += [("append", i) for i in range(plan.appends)]
    rng.shuffle(jobs)
    seeds = [rng.randrange(2**32) for _ in jobs]
    tally.latencies_ms.clear()  # the live conversations' creation is set-up, not load

    answered = [0]

    def run(index: int) -> None:
        kind, number = jobs[index]
        job_rng = random.Random(seeds[index])
        try:
            if kind == "ingest":
                ingest(client, tally, conversations, job_rng)
            else:
                append(client, tally, live[number % len(live)], job_rng)
        except (OSError, http.client.HTTPException):
            if on_acknowledged is None:
                raise
            return  # the server is gone: never acknowledged
        if on_acknowledged is not None:
            with tally.lock:
                answered[0] += 1
                count = answered[0]
            on_acknowledged(count)

    started = time.perf_counter()
    with ThreadPoolExecutor(plan.concurrency) as pool:
        for future in [pool.submit(run, i) for i in range(len(jobs))]:
            future.result()
    return time.perf_counter() - started


def stored_records(
    endpoint: str, conversations: set[str], workers: int
) -> Counter[tuple[str, str]]:
    """(conversation, message) of every stored record of these conversations, straight from
    the records table's partitions, `workers` conversations at a time: the cheapest complete
    read (one query per 1 MB of a partition, no authorizer or handler in between; the records
    API itself is exercised by the e2e tests)."""
    import boto3
    from botocore.config import Config

    from devtools.local import local_table
    from shared.ingest.store import partition_key, stored_text

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the embedded store takes any
        config=Config(max_pool_connections=workers),
    )
    table = local_table("RECORDS_TABLE")

    def read(conversation: str) -> Counter[tuple[str, str]]:
        found: Counter[tuple[str, str]] = Counter()
        for page in client.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition_key(TENANT, conversation)}},
            ProjectionExpression="rec",
        ):
            for item in page["Items"]:
                record = json.loads(stored_text(item)[0])
                found[(conversation, record.get("message", ""))] += 1
        return found

    found: Counter[tuple[str, str]] = Counter()
    with ThreadPoolExecutor(workers) as pool:
        for counts in pool.map(read, sorted(conversations)):
            found.update(counts)
    return found


def verify(client: Client, tally: Tally, endpoint: str, workers: int) -> tuple[int, int]:
    """(lost, duplicated) among the acknowledged events and appended messages."""
    conversations = {conversation for conversation, _ in tally.acknowledged}
    stored = stored_records(endpoint, conversations, workers)
    lost = sum(1 for event in tally.acknowledged if stored[event] == 0)
    duplicated = sum(stored[event] - 1 for event in tally.acknowledged if stored[event] > 1)
    for conversation, calls in tally.appended.items():
        answer = client.send(tally, "GET", f"/api/v1/conversations/{conversation}", None)
        stored_texts = [m["content"] for m in answer["messages"]]
        counts = Counter(stored_texts)
        for texts in calls:
            lost += sum(1 for text in texts if counts[text] == 0)
            duplicated += sum(counts[text] - 1 for text in texts if counts[text] > 1)
            if all(counts[text] == 1 for text in texts):  # a call's messages stay together
                first = stored_texts.index(texts[0])
                if stored_texts[first : first + len(texts)] != texts:
                    raise RuntimeError(f"{conversation}: an append's messages were split")
    return lost, duplicated


def start_server(
    key: str, data: Path | None = None, durable: bool = True
) -> tuple[subprocess.Popen[str], str, str]:
    """The server process, its URL and its embedded DynamoDB endpoint; its data folder is
    `data` (a new one when None)."""
    state = Path(tempfile.mkdtemp(prefix="parley-loadtest-")) / "dev.json"
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_DYNAMODB_ENDPOINT"}
    env.update(
        PARLEY_PORT="0",
        PARLEY_DEV_KEYS=f"{TENANT}={key}",
        PARLEY_DEV_STATE=str(state),
        PARLEY_DATA_DIR=str(data or state.parent / "data"),
        PARLEY_DEV_DURABLE="1" if durable else "0",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    found: list[str] = []
    endpoints: list[str] = []
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:  # keep reading, so the server never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            if not found:
                lines.append(line)
            if match := _ENDPOINT.search(line):
                endpoints.append(match.group(1))
            if match := _LISTENING.match(line):
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(STARTUP_SECONDS) or not found or not endpoints:
        process.kill()
        raise RuntimeError("the dev server did not start:\n" + "".join(lines[-30:]))
    return process, found[0], endpoints[0]


def stop_server(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def server_cpu_seconds(pid: int) -> float | None:
    """CPU the server has used so far, its finished children (snapshot writers) included; None
    where /proc is missing (macOS). Throughput depends on what else the machine runs; CPU per
    request much less, so it is printed beside it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # after the name: state is field 3, utime/stime/cutime/cstime are fields 14-17 (proc(5))
    ticks = sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Outcome:
    requests: int
    events: int
    lost: int
    duplicated: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float | None  # the server's, while driven

    @property
    def cpu_ms_per_request(self) -> float | None:
        return None if self.cpu_seconds is None else self.cpu_seconds * 1000 / self.requests

    def line(self, durability: str) -> str:
        cpu = self.cpu_ms_per_request
        return (
            f"loadtest: durability {durability}: {self.requests} requests, {self.events} events "
            f"acknowledged, {self.lost} lost, {self.duplicated} duplicated, "
            f"{self.per_second:.1f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"
            + ("" if cpu is None else f", server CPU {cpu:.1f} ms per request")
        )


def run(plan: Plan, durable: bool, kill_after: int | None = None) -> Outcome:
    """The plan on a new server (and data folder); with `kill_after`, SIGKILL it once that
    many requests are acknowledged, restart it on the same folder and read back from there."""
    key = "prl_" + secrets.token_urlsafe(32)
    data = Path(tempfile.mkdtemp(prefix="parley-loadtest-data-"))
    tally = Tally()
    process, base_url, endpoint = start_server(key, data, durable)
    killed = threading.Event()

    def kill_when(count: int) -> None:
        if kill_after is not None and count >= kill_after and not killed.is_set():
            killed.set()
            process.kill()  # SIGKILL: no shutdown, no final snapshot
            print(f"loadtest: killed the server (SIGKILL) after {count} answers", flush=True)

    try:
        client = Client(base_url, key)
        durability = "on" if durable else "off"
        print(f"loadtest: {plan} against {base_url}, durability {durability}", flush=True)
        cpu_before = server_cpu_seconds(process.pid)
        seconds = drive(client, plan, tally, kill_when if kill_after is not None else None)
        cpu_after = None if killed.is_set() else server_cpu_seconds(process.pid)
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        latencies = sorted(tally.latencies_ms)
        events = len(tally.acknowledged) + sum(len(t) for c in tally.appended.values() for t in c)
        print(f"loadtest: driven in {seconds:.1f} s, {tally.resends} 503s resent; reading back")
        if kill_after is not None:
            if not killed.is_set():
                raise RuntimeError(f"fewer than {kill_after} requests were acknowledged")
            process.wait()
            process, base_url, endpoint = start_server(key, data, durable)
            client = Client(base_url, key)
            print(f"loadtest: restarted on the same data folder at {base_url}", flush=True)
        started = time.perf_counter()
        lost, duplicated = verify(client, tally, endpoint, plan.concurrency)
        print(f"loadtest: read back in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        stop_server(process)
    requests = sum(len(calls) for calls in tally.appended.values()) + tally.ingested
    return Outcome(
        requests,
        events,
        lost,
        duplicated,
        requests / seconds,
        statistics.median(latencies),
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        cpu,
    )


def parse_args(argv: list[str] | None) -> tuple[Plan, str, int | None]:
    parser = argparse.ArgumentParser(prog="make loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="ingest requests (5000)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients at once (16)")
    parser.add_argument("--conversations", type=int, default=500, help="ingest conversations")
    parser.add_argument("--live", type=int, default=50, help="live conversations appended to")
    parser.add_argument("--appends", type=int, default=1000, help="append calls (1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--durability", choices=("both", "on", "off"), default="both", help="(both: off, then on)"
    )
    parser.add_argument(
        "--kill-after", type=int, help="SIGKILL the server after N answers, restart, read back"
    )
    args = parser.parse_args(argv)
    if args.kill_after is not None and args.durability != "on":
        parser.error("--kill-after needs --durability on")
    plan = Plan(
        args.requests, args.concurrency, args.conversations, args.live, args.appends, args.seed
    )
    return plan, args.durability, args.kill_after


def main(argv: list[str] | None = None) -> int:
    plan, durability, kill_after = parse_args(argv)
    modes = {"both": [False, True], "on": [True], "off": [False]}[durability]
    outcomes: dict[bool, Outcome] = {}
    try:
        for durable in modes:
            outcomes[durable] = run(plan, durable, kill_after if durable else None)
            print(outcomes[durable].line("on" if durable else "off"), flush=True)
    except (RuntimeError, OSError, BotoCoreError, ClientError) as exc:
        print(f"loadtest: the run failed: {exc}", file=sys.stderr)
        return 2
    if len(outcomes) == 2:
        on, off = outcomes[True].per_second, outcomes[False].per_second
        ratio = on / off
        verdict = "met" if ratio >= DURABILITY_TARGET else "MISSED"
        print(
            f"loadtest: durability on runs at {ratio:.0%} of off's throughput ({on:.1f} vs "
            f"{off:.1f} req/s; target >= {DURABILITY_TARGET:.0%}: {verdict})",
            flush=True,
        )
        cpu_on, cpu_off = outcomes[True].cpu_ms_per_request, outcomes[False].cpu_ms_per_request
        if cpu_on is not None and cpu_off is not None:
            print(
                f"loadtest: durability on costs {cpu_on / cpu_off - 1:+.0%} server CPU per "
                f"request ({cpu_on:.1f} vs {cpu_off:.1f} ms; the steadier figure on a busy "
                "machine)",
                flush=True,
            )
    bad = any(o.lost or o.duplicated for o in outcomes.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
