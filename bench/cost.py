"""What Parley costs per N ingested events on AWS, from figures measured on this machine.

    make cost EVENTS=1000000 BATCH=1000            (both event sizes, 1 KB and 10 KB)
    .venv/bin/python -m bench.cost --events 1000000 --batch 1000 --event-bytes 4000

Measured here: the stored item of each record (the real pipeline builds it), the duration of
one `/v1/ingest` invocation of BATCH events stored through the real botocore client into the
embedded DynamoDB-protocol server (10 ms per call), and the summaries worker's handler on those
records as one stream batch (10 ms per call, answered without HTTP). Everything else is AWS's
price list (us-east-1, on-demand, November 2025) and the formula in docs/performance.md.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median
from typing import Any

from bench import env
from shared.dynamo import Deadline, DynamoDBClient, Item, ParallelBatchWriter

# us-east-1 list prices, USD.
LAMBDA_GB_SECOND = 0.0000133334  # arm64
LAMBDA_REQUEST = 0.20 / 1e6
API_GATEWAY_REQUEST = 3.50 / 1e6  # REST API, first 333 million a month
WRITE_REQUEST_UNIT = 0.625 / 1e6  # on-demand
STORAGE_GB_MONTH = 0.25
STORAGE_IA_GB_MONTH = 0.10  # the Standard-IA table class (RecordsTableClass)
WRITE_REQUEST_UNIT_IA = 0.78125 / 1e6  # its writes cost 25% more
S3_IA_GB_MONTH = 0.0125  # the lake's files after 90 days (docs/lake.md)
S3_PUT = 0.005 / 1000  # PUT, COPY, POST, LIST
S3_GET = 0.0004 / 1000
S3_GB_MONTH = 0.023  # Standard, first 50 TB
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's per-item storage overhead, in the table and each index
# Lambda gives a function CPU in proportion to memory: one full vCPU at 1,769 MB. The bench
# machine's core is taken as one full vCPU, so durations stretch by 1769 / memory below that.
FULL_VCPU_MB = 1769
MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_EVENT_BYTES = 1000  # the size the last line (the figure) is quoted for


@dataclass
class Measured:
    event_bytes: int
    batch: int
    records: int
    item_bytes: float  # mean DynamoDB item size (attribute names + values)
    key_bytes: float  # pk + sk + ok + env: what the KEYS index entry holds
    base_wru: float  # mean write units per record, table
    invocation_ms: float
    summaries: SummariesMeasured
    lake: LakeMeasured


def _item_size(item: Item) -> int:
    """Attribute names plus values, as DynamoDB sizes an item (strings UTF-8, binary raw; a
    number, `exp` under a retention, at most its digits)."""
    return sum(len(name) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    if "B" in value:
        return len(value["B"])
    return len(value["S"].encode()) if "S" in value else len(value["N"])


def measure(event_bytes: int, batch: int, runs: int = 5) -> Measured:
    from bench import ddbserver, throughput
    from bench.bodies import api_event, body, ingest_events
    from shared import dynamo
    from shared.settings import get_settings

    raw = body(ingest_events(batch, event_bytes))
    request = throughput.Request(raw, api_event("/v1/ingest", raw), batch)
    settings = get_settings()
    with ddbserver.running(throughput.LATENCY) as endpoint:
        client = dynamo.make_client(settings.model_copy(update={"dynamodb_endpoint": endpoint}))
        writer = _CapturingWriter(client, settings.write_concurrency)
        handler = throughput.ingest_handler()
        from bench import stubs

        with stubs.writer(writer):
            throughput.check(request.invoke(handler), batch)  # warm-up
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                throughput.check(request.invoke(handler), batch)
                times.append((time.perf_counter() - start) * 1000)
    items = writer.items
    summaries = measure_summaries(items, runs)
    lake = measure_lake(items, runs)
    sizes = [_item_size(item) for item in items]
    keys = [_item_size({k: item[k] for k in ("pk", "sk", "ok", "env")}) for item in items]
    return Measured(
        event_bytes=event_bytes,
        batch=batch,
        records=len(items),
        item_bytes=sum(sizes) / len(sizes),
        key_bytes=sum(keys) / len(keys),
        base_wru=sum(math.ceil(s / 1024) for s in sizes) / len(sizes),
        invocation_ms=median(times),
        summaries=summaries,
        lake=lake,
    )


class _CapturingWriter(ParallelBatchWriter):
    """The real parallel writer, keeping the last request's items to size them."""

    def __init__(self, client: DynamoDBClient, concurrency: int) -> None:
        super().__init__(client, concurrency)
        self.items: list[Item] = []

    def put_items(self, table: str, items: Sequence[Item], deadline: Deadline) -> None:
        self.items = list(items)
        super().put_items(table, items, deadline)


# --- conversation summaries (the records stream's worker) --------------------------------------

SUMMARY_ITEM_WRU = 1  # a summary item is well under 1 KB
SUMMARY_INDEX_WRU = 2  # its `by_activity` sort key moves with every update: delete + put


@dataclass
class SummariesMeasured:
    records: int  # one stream batch: the request's records
    updates: int  # UpdateItems it made: one per conversation
    invocation_ms: float  # the worker's handler on that batch, 10 ms per DynamoDB call


def measure_summaries(items: list[Item], runs: int) -> SummariesMeasured:
    """The summaries worker's handler on the request's records as one stream batch, through
    the real botocore client whose calls are answered after 10 ms without HTTP."""
    from bench import stubs, throughput
    from shared import dynamo
    from shared.ingest.summaries import SummaryStore, SummaryWorker
    from shared.settings import get_settings

    settings = get_settings()
    client = dynamo.make_client(settings)
    calls: list[int] = []
    now = int(time.time())
    event = {
        "Records": [
            {
                "eventName": "INSERT",
                "dynamodb": {
                    "ApproximateCreationDateTime": now,
                    "Keys": {"pk": item["pk"], "sk": item["sk"]},
                    "NewImage": item,
                    "SequenceNumber": str(111_000_000_000_000_000_000 + n),
                },
            }
            for n, item in enumerate(items)
        ]
    }
    worker = SummaryWorker(
        SummaryStore(client, "bench-summaries"), 20.0, settings.write_concurrency
    )
    times = []
    with stubs.sending(client, stubs.fake_send(throughput.LATENCY, calls)):
        worker.handle(event)  # warm-up
        for _ in range(runs):
            calls.clear()
            start = time.perf_counter()
            answer = worker.handle(event)
            times.append((time.perf_counter() - start) * 1000)
            if answer["batchItemFailures"]:
                raise RuntimeError(f"summaries worker failed: {answer}")
    return SummariesMeasured(len(items), len(calls), median(times))


def template_worker_memory_mb(function: str = "SummariesWorkerFunction") -> int:
    from devtools.template import load_template

    props = load_template()["Resources"][function]["Properties"]
    return int(props["MemorySize"])


# --- the analytics lake (the lake writer on the records stream, compaction) --------------------

COMPACTIONS_PER_DAY = 24 * 6  # rate(10 minutes)
SAMPLE_FILES = 20  # batch files merged to time compaction per row


@dataclass
class LakeMeasured:
    records: int  # one stream batch: the request's records
    invocation_ms: float  # the lake worker's handler on that batch (its one file, one PUT)
    batch_file_bytes: int
    compacted_bytes_per_row: float
    compaction_ms_per_row: float


def measure_lake(items: list[Item], runs: int) -> LakeMeasured:
    """The records lake worker's handler on the request's stored items as one stream batch
    (writing its Parquet to a local folder: on AWS one PUT of the same file), then compaction
    of SAMPLE_FILES such batches (distinct rows) into one file."""
    import tempfile

    from bench.lake import stream_batch
    from shared.lake.compaction import Compactor
    from shared.lake.store import LakeStore
    from shared.lake.writer import RecordsLakeWorker

    created = int(time.time())
    with tempfile.TemporaryDirectory(prefix="cost-lake-") as folder:
        store = LakeStore(folder)
        worker = RecordsLakeWorker(store)
        event = stream_batch(items, created, 0)
        worker.handle(event)  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            worker.handle(event)
            times.append((time.perf_counter() - start) * 1000)
        batch_bytes = max(f.size for f in store.files())
        for n in range(SAMPLE_FILES):
            distinct = [dict(it, sk={"S": f"rec_{n:04d}_{i:06d}"}) for i, it in enumerate(items)]
            worker.handle(stream_batch(distinct, created, n * len(items)))
        start = time.perf_counter()
        report = Compactor(store).run()
        compaction_ms = (time.perf_counter() - start) * 1000
        rows = report.rows_written
        compacted = sum(f.size for f in store.files())
    return LakeMeasured(
        records=len(items),
        invocation_ms=median(times),
        batch_file_bytes=batch_bytes,
        compacted_bytes_per_row=compacted / rows,
        compaction_ms_per_row=compaction_ms / rows,
    )


@dataclass
class LakeCost:
    worker_usd: float
    puts_usd: float
    compaction_usd: float
    storage_usd_month: float
    gb_stored: float

    @property
    def total_first_month(self) -> float:
        return self.worker_usd + self.puts_usd + self.compaction_usd + self.storage_usd_month


def lake_cost(m: Measured, events: int) -> LakeCost:
    """The lake's share (docs/lake.md "Cost"): one worker invocation and one PUT per stream
    batch; the events arriving within one day, compaction every 10 minutes rewrites that day's
    partition so far (on average half of it, 144 times: ~72 rewrites of each row); storage
    of the compacted Parquet plus a day of replaced versions (NoncurrentDays: 1)."""
    lake = m.lake
    worker_mb = template_worker_memory_mb("LakeRecordsWorkerFunction")
    compaction_mb = template_worker_memory_mb("LakeCompactionFunction")
    records = events * m.records / m.batch
    invocations = math.ceil(records / lake.records)
    seconds = lake.invocation_ms / 1000 * max(1.0, FULL_VCPU_MB / worker_mb)
    worker_usd = invocations * (seconds * worker_mb / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST)
    rewrites = (COMPACTIONS_PER_DAY + 1) / 2
    compaction_seconds = records * rewrites * lake.compaction_ms_per_row / 1000
    compaction_seconds *= max(1.0, FULL_VCPU_MB / compaction_mb)
    compaction_usd = compaction_seconds * compaction_mb / 1024 * LAMBDA_GB_SECOND
    compaction_usd += COMPACTIONS_PER_DAY * LAMBDA_REQUEST
    # Requests: the worker's PUTs; per run one LIST, one GET of the last compacted file, one
    # PUT; one GET of each batch file when it is merged.
    puts_usd = (invocations + 2 * COMPACTIONS_PER_DAY) * S3_PUT
    puts_usd += (invocations + COMPACTIONS_PER_DAY) * S3_GET
    # The sample's compacted rows repeat texts (compressing better than real traffic): size
    # the lake by whichever is larger, that or a batch file of distinct messages per row.
    row_bytes = max(lake.compacted_bytes_per_row, lake.batch_file_bytes / lake.records)
    final_gb = records * row_bytes / 1e9
    replaced_gb = final_gb * rewrites  # replaced compacted files of a day, kept one day
    replaced_gb += invocations * lake.batch_file_bytes / 1e9
    gb = final_gb + replaced_gb / 30  # kept a day: a thirtieth of a month
    return LakeCost(worker_usd, puts_usd, compaction_usd, gb * S3_GB_MONTH, final_gb)


def summaries_cost(m: Measured, events: int, memory_mb: int) -> tuple[float, float, float]:
    """Lambda and write-unit USD of keeping the summaries of `events`, and WRU per event."""
    s = m.summaries
    records = events * m.records / m.batch
    invocations = math.ceil(records / s.records)
    seconds = s.invocation_ms / 1000 * max(1.0, FULL_VCPU_MB / memory_mb)
    lambda_usd = invocations * (seconds * memory_mb / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST)
    wru = invocations * s.updates * (SUMMARY_ITEM_WRU + SUMMARY_INDEX_WRU)
    return lambda_usd, wru * WRITE_REQUEST_UNIT, wru / events


def template_memory_mb() -> int:
    """The Globals MemorySize of template.yaml (the ingest function does not override it)."""
    text = (env.REPO / "template.yaml").read_text()
    globals_part = text.split("\nGlobals:", 1)[1].split("\nResources:", 1)[0]
    found = re.search(r"MemorySize:\s*(\d+)", globals_part)
    if found is None:
        raise RuntimeError("no Globals MemorySize in template.yaml")
    return int(found.group(1))


@dataclass
class Cost:
    lambda_usd: float
    api_usd: float
    writes_usd: float
    storage_usd_month: float
    wru_per_record: float
    gb_stored: float

    @property
    def total_first_month(self) -> float:
        return self.lambda_usd + self.api_usd + self.writes_usd + self.storage_usd_month


def cost(m: Measured, events: int, memory_mb: int, index: str) -> Cost:
    """`index`: RecordsIndexProjection, "ALL" (before) or "KEYS" (keys and env, the default)."""
    requests = math.ceil(events / m.batch)
    records = events * m.records / m.batch
    seconds = m.invocation_ms / 1000 * max(1.0, FULL_VCPU_MB / memory_mb)
    lambda_usd = requests * (seconds * memory_mb / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST)
    index_bytes = m.item_bytes if index == "ALL" else m.key_bytes
    index_wru = math.ceil(index_bytes / 1024)
    wru = m.base_wru + index_wru
    stored = records * (m.item_bytes + index_bytes + 2 * ITEM_OVERHEAD_BYTES) / 1e9
    return Cost(
        lambda_usd=lambda_usd,
        api_usd=requests * API_GATEWAY_REQUEST,
        writes_usd=records * wru * WRITE_REQUEST_UNIT,
        storage_usd_month=stored * STORAGE_GB_MONTH,
        wru_per_record=wru,
        gb_stored=stored,
    )


def report(events: int, batch: int, event_bytes: int, memory_mb: int) -> float:
    """Print the table for one event size; return the deployed default's first-month USD
    (the KEYS index, the summaries worker and the lake) for `events` events."""
    # Generated events land within ~10% of their target size.
    fitting = max(1, min(batch, int(MAX_BODY_BYTES / (event_bytes * 1.1))))
    m = measure(event_bytes, fitting)
    print(
        f"\n{event_bytes:,}-byte events, {fitting:,} per request"
        + (f" (BATCH={batch:,} would pass the 5 MiB body limit)" if fitting < batch else "")
        + f": item {m.item_bytes:,.0f} B ({m.base_wru:.2f} WRU), index entry with KEYS "
        f"{m.key_bytes:.0f} B; "
        f"invocation {m.invocation_ms:.0f} ms here, billed at {memory_mb} MB"
    )
    print(
        f"    {'index':<16}{'Lambda':>9}{'API GW':>9}{'writes':>9}{'WRU/rec':>9}"
        f"{'GB stored':>11}{'storage/mo':>12}{'total (1st month)':>19}"
    )
    for index in ("ALL", "KEYS"):
        c = cost(m, events, memory_mb, index)
        print(
            f"    {index:<16}{c.lambda_usd:>9.3f}{c.api_usd:>9.3f}{c.writes_usd:>9.3f}"
            f"{c.wru_per_record:>9.0f}{c.gb_stored:>11.2f}{c.storage_usd_month:>12.3f}"
            f"{c.total_first_month:>19.3f}"
        )
    worker_mb = template_worker_memory_mb()
    lambda_usd, writes_usd, wru_per_event = summaries_cost(m, events, worker_mb)
    s = m.summaries
    print(
        f"    {'+ summaries':<16}{lambda_usd:>9.3f}{0:>9.3f}{writes_usd:>9.3f}"
        f"{wru_per_event:>9.2f}{'':>11}{'':>12}{lambda_usd + writes_usd:>19.3f}"
        f"   (stream worker: {s.records:,} records per batch in {s.invocation_ms:.0f} ms here, "
        f"{s.updates} UpdateItems of 3 WRU, billed at {worker_mb} MB; stream reads free)"
    )
    lake = lake_cost(m, events)
    lm = m.lake
    print(
        f"    {'+ lake':<16}{lake.worker_usd + lake.compaction_usd:>9.3f}{0:>9.3f}"
        f"{lake.puts_usd:>9.3f}{'':>9}{lake.gb_stored:>11.2f}{lake.storage_usd_month:>12.3f}"
        f"{lake.total_first_month:>19.3f}   (lake worker: {lm.records:,} rows per batch in "
        f"{lm.invocation_ms:.0f} ms here, one {lm.batch_file_bytes / 1024:.0f} KB file; "
        f"compaction {lm.compaction_ms_per_row * 1000:.1f} us per row, "
        f"{lm.batch_file_bytes / lm.records:.0f} B per row stored; 'writes': S3 requests)"
    )
    base = cost(m, events, memory_mb, "KEYS").total_first_month + lambda_usd + writes_usd
    share = lake.total_first_month / base * 100
    print(
        f"target: lake cost +{share:.1f}% over today's {base:.3f} USD per {events:,} events "
        f"(bar <= 15%) {'met' if share <= 15 else 'missed'}"
    )
    if event_bytes == DEFAULT_EVENT_BYTES:
        storage_report(m)
    return base + lake.total_first_month


# --- keeping a month of traffic (RecordsRetentionDays, RecordsTableClass, the lake) -----------

MONTH_EVENTS = 1_000_000_000
LAKE_STANDARD_MONTHS = 3  # the lake bucket moves files to Standard-IA after 90 days


def storage_report(m: Measured) -> None:
    """The monthly bill of keeping 1 billion events a month, after 1, 12 and 24 months of
    that traffic: the records table (KEYS index) forever or with a TTL, as Standard or
    Standard-IA, and the lake beside it (which keeps everything)."""
    table_gb = MONTH_EVENTS * m.records / m.batch
    table_gb *= m.item_bytes + m.key_bytes + 2 * ITEM_OVERHEAD_BYTES
    table_gb /= 1e9
    wru = m.base_wru + math.ceil(m.key_bytes / 1024)
    ia_premium = MONTH_EVENTS * wru * (WRITE_REQUEST_UNIT_IA - WRITE_REQUEST_UNIT)
    lake_gb = MONTH_EVENTS * m.lake.batch_file_bytes / m.lake.records / 1e9
    months = (1, 12, 24)
    print(
        f"\nKeeping {MONTH_EVENTS:,} {m.event_bytes:,}-byte events a month: the records table "
        f"grows {table_gb:,.0f} GB a month (KEYS), the lake {lake_gb:,.0f} GB; USD per month "
        "after 1 / 12 / 24 months of that traffic (storage; Standard-IA: plus its 25% dearer "
        "writes)"
    )

    def table(days: int | None, ia: bool) -> list[float]:
        held = [table_gb * (k if days is None else min(k, days / 30)) for k in months]
        price = STORAGE_IA_GB_MONTH if ia else STORAGE_GB_MONTH
        return [gb * price + (ia_premium if ia else 0) for gb in held]

    rows = {
        "table, kept forever": table(None, False),
        "table, Standard-IA, forever": table(None, True),
        "table, RecordsRetentionDays=90": table(90, False),
        "table, RecordsRetentionDays=30": table(30, False),
        "lake (kept forever)": [
            lake_gb
            * (
                min(k, LAKE_STANDARD_MONTHS) * S3_GB_MONTH
                + max(k - LAKE_STANDARD_MONTHS, 0) * S3_IA_GB_MONTH
            )
            for k in months
        ],
    }
    for label, usd in rows.items():
        print(f"    {label:<32}" + "".join(f"{x:>12,.0f}" for x in usd))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per request (max 1,000)")
    parser.add_argument("--event-bytes", type=int, action="append", help="default: 1000 and 10000")
    parser.add_argument("--memory", type=int, default=None, help="default: template.yaml's")
    args = parser.parse_args()
    env.apply()
    memory = args.memory or template_memory_mb()
    print(
        f"Cost of {args.events:,} events in USD (us-east-1 list prices; DynamoDB on-demand; "
        "Lambda arm64). Stream reads are free for a Lambda trigger."
    )
    totals = {
        size: report(args.events, min(args.batch, 1000), size, memory)
        for size in args.event_bytes or (1000, 10_000)
    }
    if DEFAULT_EVENT_BYTES in totals:
        per_million = totals[DEFAULT_EVENT_BYTES] / args.events * 1e6
        print(f"cost: ${per_million:.2f} per million 1 KB events (default configuration)")


if __name__ == "__main__":
    main()
