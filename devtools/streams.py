"""`make dev`: DynamoDB stream event source mappings, emulated in-process.

Every function of template.yaml with a `Type: DynamoDB` event is fed like Lambda feeds it: the
runner polls the table's stream on the same endpoint (DynamoDB Streams API: DescribeStream,
GetShardIterator, GetRecords), keeps the records its FilterCriteria pass, and invokes the real
handler with batches of at most BatchSize records in the Lambda DynamoDB-stream event shape.
With ReportBatchItemFailures a batch is retried from the first failed record; a batch still
failing after MaximumRetryAttempts is logged and skipped (where AWS would send it to the
on-failure destination).

Filter patterns: the subset of Lambda's event filtering the template uses — nested objects,
lists of allowed values (strings, numbers, booleans, null), and the operators `exists`,
`anything-but` (a list of values) and `prefix`. Any other operator is refused at start, so a
template change cannot silently pass everything.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devtools.gateway import LoadedFunction, load_function
from devtools.template import Function, functions, resources, table_names

_OPERATORS = frozenset({"exists", "anything-but", "prefix"})
_IDLE_SLEEP = 0.05
_RETRY_SLEEP = 0.2
# New shards are looked for this often, not on every poll: each DescribeStream waits for the
# embedded store's one-request-at-a-time lock like the handlers' own calls do.
_SHARD_REFRESH_SECONDS = 1.0


class FilterError(ValueError):
    """A filter pattern this emulation does not support."""


def keep_moto_streams_across_rollbacks() -> None:
    """moto undoes a cancelled TransactWriteItems by putting back a deep copy of the table taken
    before it — stream shard included: readers' shard iterators would follow the old shard,
    which never gets another record, the undone writes' records would stay in it, and every
    transaction would copy the whole stream. The shard is shared with the copy instead, and a
    cancelled transaction's records are removed (moto's requests are serialized, see
    devtools/moto_dynamodb.py, so nothing else wrote meanwhile)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "keeps_streams", False):
        return
    StreamShard.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        shards = [
            (table.stream_shard, len(table.stream_shard.items))
            for table in self.tables.values()
            if table.stream_shard is not None
        ]
        try:
            return original(self, transact_items)
        except Exception:
            for shard, length in shards:
                del shard.items[length:]
            raise

    transact_write_items.keeps_streams = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


# --- filter patterns ---------------------------------------------------------------------------


def check_pattern(pattern: Any) -> None:
    """Refuse what `matches` cannot evaluate faithfully."""
    if not isinstance(pattern, dict) or not pattern:
        raise FilterError(f"a pattern must be a non-empty object, not {pattern!r}")
    for value in pattern.values():
        if isinstance(value, dict):
            check_pattern(value)
        elif isinstance(value, list) and value:
            for rule in value:
                if isinstance(rule, dict):
                    unknown = set(rule) - _OPERATORS
                    if unknown or len(rule) != 1:
                        raise FilterError(f"unsupported filter rule {rule!r}")
        else:
            raise FilterError(f"a pattern leaf must be a non-empty list, not {value!r}")


_MISSING = object()


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Whether `event` (a record as a dict) matches one filter pattern."""
    for key, expected in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(expected, dict):
            if not matches(expected, value if value is not _MISSING else {}):
                return False
        elif not any(_rule_matches(rule, value) for rule in expected):
            return False
    return True


def _rule_matches(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        ((operator, operand),) = rule.items()
        if operator == "exists":
            return (value is not _MISSING) == bool(operand)
        if value is _MISSING or isinstance(value, dict | list):
            return False
        if operator == "anything-but":
            excluded = operand if isinstance(operand, list) else [operand]
            return value not in excluded
        return isinstance(value, str) and value.startswith(operand)  # prefix
    return value is not _MISSING and type(value) is type(rule) and value == rule


# --- the template's stream mappings ------------------------------------------------------------


@dataclass(frozen=True)
class StreamMapping:
    function: Function
    table: str  # logical id of the table whose stream feeds the function
    batch_size: int
    starting_position: str  # LATEST or TRIM_HORIZON
    patterns: tuple[dict[str, Any], ...]  # empty: every record
    max_retries: int
    report_item_failures: bool


def stream_mappings(template: dict[str, Any]) -> list[StreamMapping]:
    by_id = functions(template)
    mappings = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            props = event["Properties"]
            table, attribute = props["Stream"]["Fn::GetAtt"]
            if attribute != "StreamArn":
                raise FilterError(f"{name}: Stream must be !GetAtt <table>.StreamArn")
            patterns = []
            for spec in (props.get("FilterCriteria") or {}).get("Filters") or []:
                pattern = json.loads(spec["Pattern"])
                check_pattern(pattern)
                patterns.append(pattern)
            mappings.append(
                StreamMapping(
                    function=by_id[name],
                    table=table,
                    batch_size=int(props.get("BatchSize", 100)),
                    starting_position=props.get("StartingPosition", "LATEST"),
                    patterns=tuple(patterns),
                    max_retries=int(props.get("MaximumRetryAttempts", 2)),
                    report_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                )
            )
    return mappings


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it (JSON types, the source ARN)."""
    stream = dict(record["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


def wanted(mapping: StreamMapping, record: dict[str, Any]) -> bool:
    return not mapping.patterns or any(matches(p, record) for p in mapping.patterns)


# --- stream positions ------------------------------------------------------------------------


class StreamPositions:
    """How far each stream-fed function has read each shard, kept in a file (the data folder's
    streams.json): after a restart every function goes on after the last page it was handed,
    so nothing is skipped, and nothing it finished is handed to it again. The file is
    rewritten (and flushed to disk) after each page; a crash between a page's handler and
    that write hands the page over once more, as Lambda's event source mappings may."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._read: dict[str, int] = {}
        if path.exists():
            self._read = {k: int(v) for k, v in json.loads(path.read_text()).items()}

    @staticmethod
    def _key(function: str, stream_arn: str, shard: str) -> str:
        return f"{function} {stream_arn} {shard}"

    def last_read(self, function: str, stream_arn: str, shard: str) -> int | None:
        with self._lock:
            return self._read.get(self._key(function, stream_arn, shard))

    def save(self, function: str, stream_arn: str, shard: str, sequence: int) -> None:
        with self._lock:
            self._read[self._key(function, stream_arn, shard)] = sequence
            partial = self._path.with_name(self._path.name + ".partial")
            with partial.open("w") as file:
                json.dump(self._read, file, indent=0, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            partial.replace(self._path)


# --- the runner --------------------------------------------------------------------------------


@dataclass
class _Feed:
    """One mapping reading one stream: its shard iterators and its loaded handler."""

    mapping: StreamMapping
    handler: LoadedFunction
    stream_arn: str
    iterators: dict[str, str | None] = field(default_factory=dict)  # shard → next iterator
    shards_seen_at: float | None = None  # monotonic time of the last DescribeStream


class StreamRunner:
    """Polls the streams and invokes the handlers; `poll_once` is one round (tests call it)."""

    def __init__(
        self,
        template: dict[str, Any],
        dynamodb: Any,
        streams: Any,
        table_prefix: str,
        mappings: list[StreamMapping] | None = None,
        loader: Callable[[dict[str, Any], Function], LoadedFunction] = load_function,
        positions: StreamPositions | None = None,
    ) -> None:
        self._streams = streams
        self._positions = positions
        self._tables: dict[str, str] = {}  # stream ARN → table name
        names = table_names(template, table_prefix)
        self._feeds = []
        for mapping in stream_mappings(template) if mappings is None else mappings:
            table = dynamodb.describe_table(TableName=names[mapping.table])["Table"]
            arn = table.get("LatestStreamArn")
            if not arn:
                raise FilterError(f"table {names[mapping.table]} has no stream")
            self._tables[arn] = names[mapping.table]
            self._feeds.append(_Feed(mapping, loader(template, mapping.function), arn))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._count_lock = threading.Lock()
        self.delivered = 0

    @property
    def functions(self) -> list[str]:
        return [feed.mapping.function.logical_id for feed in self._feeds]

    def start(self) -> None:
        self.poll_once()  # shard iterators now: LATEST means "after the server started"
        # One thread per mapping, as on AWS each event source mapping polls on its own: a slow
        # worker (the lake's Parquet writes) never holds back another (the summaries).
        self._threads = [
            threading.Thread(target=self._run, args=(feed,), name="streams", daemon=True)
            for feed in self._feeds
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def _run(self, feed: _Feed) -> None:
        while not self._stop.is_set():
            try:
                if not self._poll(feed):
                    self._stop.wait(_IDLE_SLEEP)
            except Exception as exc:  # keep polling: a local fault must not stop the feed
                sys.stderr.write(f"stream runner: {type(exc).__name__}: {exc}\n")
                self._stop.wait(_RETRY_SLEEP)

    def unread_from(self) -> dict[str, int]:
        """Table name → the lowest sequence number some function has not read yet, for the
        tables whose every stream-fed function has a saved position (the data folder drops
        the records before it)."""
        lowest: dict[str, int] = {}
        incomplete: set[str] = set()
        for feed in self._feeds:
            table = self._tables[feed.stream_arn]
            shards: list[str | None] = [*feed.iterators] or [None]
            for shard in shards:
                read = None
                if self._positions is not None and shard is not None:
                    name = feed.mapping.function.logical_id
                    read = self._positions.last_read(name, feed.stream_arn, shard)
                if read is None:
                    incomplete.add(table)
                else:
                    lowest[table] = min(lowest.get(table, read + 1), read + 1)
        return {table: seq for table, seq in lowest.items() if table not in incomplete}

    def poll_once(self) -> int:
        """Read every shard once and deliver what passes the filters: records read."""
        return sum(self._poll(feed) for feed in self._feeds)

    def _poll(self, feed: _Feed) -> int:
        read = 0
        self._refresh_shards(feed)
        for shard, iterator in list(feed.iterators.items()):
            if iterator is None:
                continue
            page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            feed.iterators[shard] = page.get("NextShardIterator")
            records = [lambda_record(r, feed.stream_arn) for r in page.get("Records", [])]
            read += len(records)
            self._deliver(feed, [r for r in records if wanted(feed.mapping, r)])
            if records and self._positions is not None:
                last = int(records[-1]["dynamodb"]["SequenceNumber"])
                name = feed.mapping.function.logical_id
                self._positions.save(name, feed.stream_arn, shard, last)
        return read

    def _refresh_shards(self, feed: _Feed) -> None:
        now = time.monotonic()
        if feed.shards_seen_at is not None and now - feed.shards_seen_at < _SHARD_REFRESH_SECONDS:
            return
        feed.shards_seen_at = now
        description = self._streams.describe_stream(StreamArn=feed.stream_arn)
        for shard in description["StreamDescription"].get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in feed.iterators:
                where: dict[str, Any] = {"ShardIteratorType": feed.mapping.starting_position}
                if self._positions is not None:
                    name = feed.mapping.function.logical_id
                    read = self._positions.last_read(name, feed.stream_arn, shard_id)
                    if read is not None:  # go on after the last page handed over
                        where = {
                            "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                            "SequenceNumber": str(read),
                        }
                feed.iterators[shard_id] = self._streams.get_shard_iterator(
                    StreamArn=feed.stream_arn, ShardId=shard_id, **where
                )["ShardIterator"]

    def _deliver(self, feed: _Feed, records: list[dict[str, Any]]) -> None:
        size = feed.mapping.batch_size
        for start in range(0, len(records), size):
            batch = records[start : start + size]
            attempts = 0
            while batch:
                failed_at = self._invoke(feed, batch)
                if failed_at is None:
                    self._count(len(batch))
                    break
                attempts += 1
                if attempts > feed.mapping.max_retries:
                    name = feed.mapping.function.logical_id
                    sys.stderr.write(
                        f"stream runner: {name} gave up on {len(batch) - failed_at} record(s) "
                        "after its retries (on AWS: the on-failure destination)\n"
                    )
                    break
                self._count(failed_at)
                batch = batch[failed_at:]
                time.sleep(_RETRY_SLEEP)

    def _count(self, records: int) -> None:
        with self._count_lock:
            self.delivered += records

    @staticmethod
    def _invoke(feed: _Feed, batch: list[dict[str, Any]]) -> int | None:
        """None when the batch succeeded, else the index to retry from."""
        name = feed.mapping.function.logical_id
        try:
            response = feed.handler.invoke({"Records": batch})
        except Exception as exc:
            sys.stderr.write(f"stream runner: {name} failed: {type(exc).__name__}: {exc}\n")
            return 0
        if not feed.mapping.report_item_failures or not isinstance(response, dict):
            return None
        failures = {f["itemIdentifier"] for f in response.get("batchItemFailures") or []}
        for index, record in enumerate(batch):
            if record["dynamodb"]["SequenceNumber"] in failures:
                return index
        return None
