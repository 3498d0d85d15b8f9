"""devtools/durable.py and devtools/journal.py: what the embedded store acknowledged is found
again after a restart (journal replay, snapshot plus the journal after it), a torn last frame
is dropped, stream records keep their sequence numbers, and one server holds a data folder."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from devtools.durable import DataFolderBusy, DurableStore, locked, reset
from devtools.journal import Journal, read_frames
from devtools.moto_inprocess import dispatch_in_process
from devtools.server import start_moto


def test_a_torn_or_corrupt_last_frame_is_dropped_and_appending_goes_on_after_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.log"
    journal = Journal(path)
    for payload in (b"one", b"two", b"three"):
        journal.wait(journal.append(payload))
    journal.close()
    whole = path.read_bytes()
    path.write_bytes(whole + whole[:5])  # a crash in the middle of the next frame's header
    assert read_frames(path) == ([b"one", b"two", b"three"], len(whole))
    path.write_bytes(whole[:-1] + b"X")  # the last payload damaged: its checksum fails
    assert read_frames(path)[0] == [b"one", b"two"]

    reopened = Journal(path)
    reopened.wait(reopened.append(b"four"))
    reopened.close()
    assert read_frames(path)[0] == [b"one", b"two", b"four"]


def test_a_data_folder_has_one_server_and_reset_waits_for_none(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "dev-key").write_text("prl_x")
    with locked(tmp_path):
        with pytest.raises(DataFolderBusy), locked(tmp_path):
            pass
        with pytest.raises(DataFolderBusy):
            reset(tmp_path)
    assert reset(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["lock"]
    assert not reset(tmp_path / "never-made")


def _client(service: str, endpoint: str) -> Any:
    config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
    make: Any = boto3.client  # one helper for every service
    return make(service, endpoint_url=endpoint, region_name="us-east-1", config=config)


def _forget_everything() -> None:
    """What a process restart does to moto's in-memory store."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends
    from moto.sqs.models import sqs_backends

    for backends in (dynamodb_backends, s3_backends, sqs_backends):
        backends.reset()
    s3_backends.bucket_accounts.clear()


def _set_aside() -> Callable[[], None]:
    """moto's store as it is, every service's; the function returned puts it back after a
    reset. A reset gives each backend object a new state, leaving the old state as it was, and
    moto's own objects keep pointing at their backend object (a stream's shard iterators
    register the next iterator with it): the same objects go back, with their old state."""
    from moto.core.base_backend import BackendDict
    from moto.s3.models import s3_backends

    instances: list[Any] = list(getattr(BackendDict, "_instances"))  # noqa: B009 (moto's own list)
    kept = [
        (backends, {a: {r: (b, b.__dict__) for r, b in rs.items()} for a, rs in backends.items()})
        for backends in instances
    ]
    buckets = dict(s3_backends.bucket_accounts)

    def put_back() -> None:
        for backends, accounts in kept:
            for account, regions in accounts.items():
                for region, (backend, state) in regions.items():
                    backend.__dict__ = state
                    backends[account][region] = backend
        s3_backends.bucket_accounts.update(buckets)

    return put_back


@pytest.fixture
def endpoint() -> Iterator[str]:
    """The dev server's embedded moto, with nothing in it (as a new process has). moto's store
    is one per process: the session's (tests/conftest.py: tables, streams and their iterators,
    queues, buckets) is set aside and put back after, or every later test would find it gone."""
    put_back = _set_aside()
    _forget_everything()
    url, server = start_moto()
    stop_dispatch = dispatch_in_process(url)
    try:
        yield url
    finally:
        stop_dispatch()
        server.stop()
        _forget_everything()
        put_back()


def _write(endpoint: str, table: str, first: int, last: int) -> None:
    storage = _client("dynamodb", endpoint)
    for n in range(first, last):
        storage.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}, "n": {"N": str(n)}})
    storage.update_item(
        TableName=table,
        Key={"pk": {"S": "counter"}},
        UpdateExpression="ADD hits :one",
        ExpressionAttributeValues={":one": {"N": str(last - first)}},
    )


def _stream(endpoint: str, table: str) -> list[tuple[str, str]]:
    storage, streams = _client("dynamodb", endpoint), _client("dynamodbstreams", endpoint)
    arn = storage.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [(r["dynamodb"]["SequenceNumber"], r["eventName"]) for r in records]


def test_acknowledged_writes_come_back_after_a_restart_from_journal_and_snapshot(
    endpoint: str, tmp_path: Path
) -> None:
    table, bucket = f"durable-{uuid.uuid4().hex[:8]}", f"durable-{uuid.uuid4().hex[:8]}"
    store = DurableStore(tmp_path, snapshot_frames=10_000)
    assert store.open().replayed == 0
    storage, s3, sqs = (_client(s, endpoint) for s in ("dynamodb", "s3", "sqs"))
    storage.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    _write(endpoint, table, 0, 5)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a/1.json.gz", Body=b"\x1f\x8b archived")
    queue = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="pending delivery", DelaySeconds=900)
    store.snapshot()  # the snapshot holds the first writes…
    _write(endpoint, table, 5, 8)  # …the journal after it the rest
    s3.put_object(Bucket=bucket, Key="a/2.json.gz", Body=b"second")
    stream_before = _stream(endpoint, table)
    # A crash: no close(), no final snapshot; only what the store put on disk remains.
    _forget_everything()

    opened = DurableStore(tmp_path).open()
    assert opened.items == 6  # k0-k4 and the counter, from the snapshot
    assert opened.replayed == 5  # three puts, one update, one S3 put: the journal's tail
    items = storage.scan(TableName=table)["Items"]
    assert sorted(i["pk"]["S"] for i in items) == ["counter", *(f"k{n}" for n in range(8))]
    counter = storage.get_item(TableName=table, Key={"pk": {"S": "counter"}})["Item"]
    assert counter["hits"] == {"N": "8"}
    assert s3.get_object(Bucket=bucket, Key="a/2.json.gz")["Body"].read() == b"second"
    assert s3.get_object(Bucket=bucket, Key="a/1.json.gz")["Body"].read().endswith(b"archived")
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # still waiting its turn
    # The stream is the same, sequence numbers included: readers go on where they stopped.
    assert _stream(endpoint, table) == stream_before


def test_read_stream_records_are_dropped_at_a_snapshot_and_numbering_goes_on(
    endpoint: str, tmp_path: Path
) -> None:
    table = f"trim-{uuid.uuid4().hex[:8]}"
    positions: dict[str, int] = {}
    store = DurableStore(tmp_path, stream_positions=lambda: positions)
    store.open()
    storage = _client("dynamodb", endpoint)
    storage.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    _write(endpoint, table, 0, 4)  # five stream records
    numbers = [int(seq) for seq, _ in _stream(endpoint, table)]
    positions[table] = numbers[3]  # every reader has read the first three
    store.snapshot()
    _write(endpoint, table, 4, 5)
    _forget_everything()

    DurableStore(tmp_path).open()
    after = [int(seq) for seq, _ in _stream(endpoint, table)]
    assert after == [*numbers[3:], numbers[-1] + 1, numbers[-1] + 2]


def test_a_range_keyed_table_loads_each_partition_when_first_used_and_snapshots_again(
    endpoint: str, tmp_path: Path
) -> None:
    from moto.dynamodb.models import dynamodb_backends

    from devtools.durable import LazyPartitions

    table = f"lazy-{uuid.uuid4().hex[:8]}"
    store = DurableStore(tmp_path)
    store.open()
    storage = _client("dynamodb", endpoint)
    storage.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )

    def put(pk: str, sk: str) -> None:
        storage.put_item(TableName=table, Item={"pk": {"S": pk}, "sk": {"S": sk}})

    def partition(pk: str) -> list[str]:
        answer = storage.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )
        return [item["sk"]["S"] for item in answer["Items"]]

    for pk in ("a", "b", "c"):
        for sk in ("1", "2"):
            put(pk, sk)
    store.snapshot()
    _forget_everything()

    second = DurableStore(tmp_path)
    assert second.open().items == 6
    items = dynamodb_backends["123456789012"]["us-east-1"].get_table(table).items
    assert isinstance(items, LazyPartitions)
    assert storage.describe_table(TableName=table)["Table"]["ItemCount"] == 6
    assert set(items.blobs) == set(items)  # nothing unpickled yet, not even to count them
    assert partition("a") == ["1", "2"]
    put("b", "3")  # a write to a packed partition
    put("d", "1")  # a new partition
    assert len(items.blobs) == 1  # only "c" never used
    second.snapshot()  # "c" goes into the new snapshot as it was read
    _forget_everything()

    assert DurableStore(tmp_path).open().items == 8
    assert [partition(pk) for pk in "abcd"] == [["1", "2"], ["1", "2", "3"], ["1", "2"], ["1"]]
    assert len(storage.scan(TableName=table)["Items"]) == 8


def test_snapshots_are_taken_by_themselves_while_dynamodb_and_s3_writes_go_on(
    endpoint: str, tmp_path: Path
) -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    table, bucket = f"auto-{uuid.uuid4().hex[:8]}", f"auto-{uuid.uuid4().hex[:8]}"
    store = DurableStore(tmp_path, snapshot_frames=5)
    store.open()
    storage, s3 = _client("dynamodb", endpoint), _client("s3", endpoint)
    storage.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    s3.create_bucket(Bucket=bucket)

    def write(n: int) -> None:
        storage.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}})
        s3.put_object(Bucket=bucket, Key=f"o/{n}", Body=str(n).encode())

    with ThreadPoolExecutor(4) as pool:  # both kinds at once: no lock taken out of order
        list(pool.map(write, range(30)))
    deadline = time.monotonic() + 60
    while not list((tmp_path / "store").glob("snapshot-*.pickle")):
        assert time.monotonic() < deadline, "no snapshot was taken"
        time.sleep(0.05)
    store.close()
    _forget_everything()

    DurableStore(tmp_path).open()
    assert len(storage.scan(TableName=table)["Items"]) == 30
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="o/")["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(f"o/{n}" for n in range(30))
