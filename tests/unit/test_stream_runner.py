"""The local stream runner's delivery: filters, batch size, partial batch failures, retries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from devtools.gateway import LoadedFunction
from devtools.streams import StreamMapping, StreamRunner, stream_mappings
from devtools.template import Function, load_template

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x"


class FakeStreams:
    """One shard whose records arrive in pages."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages

    def describe_stream(self, StreamArn: str) -> Any:
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **kwargs: Any) -> Any:
        return {"ShardIterator": "it-0"}

    def get_records(self, ShardIterator: str, Limit: int) -> Any:
        index = int(ShardIterator.split("-")[1])
        records = self.pages[index] if index < len(self.pages) else []
        return {"Records": records, "NextShardIterator": f"it-{index + 1}"}


class FakeDynamoDB:
    def describe_table(self, TableName: str) -> Any:
        return {"Table": {"LatestStreamArn": ARN}}


def raw(seq: int, sk: str = "META") -> dict[str, Any]:
    image = {"sk": {"S": sk}, "status": {"S": "completed"}, "analyzable": {"BOOL": True}}
    return {
        "eventID": f"e{seq}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"Keys": {}, "NewImage": image, "SequenceNumber": str(seq)},
    }


def runner(
    pages: list[list[dict[str, Any]]], handler: Any, **changes: Any
) -> tuple[StreamRunner, StreamMapping]:
    (mapping,) = (
        m for m in stream_mappings(load_template()) if "Insights" in m.function.logical_id
    )
    mapping = replace(mapping, **changes)

    def loader(template: dict[str, Any], function: Function) -> LoadedFunction:
        return LoadedFunction(function, handler, 5.0, 128)

    built = StreamRunner(
        load_template(), FakeDynamoDB(), FakeStreams(pages), "t", [mapping], loader=loader
    )
    return built, mapping


def test_filtered_records_in_batches_of_the_mapping_size() -> None:
    batches: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        batches.append([r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
        assert event["Records"][0]["eventSourceARN"] == ARN
        return {"batchItemFailures": []}

    page = [raw(i) for i in range(1, 6)] + [raw(9, sk="MSG#0000")]
    feed, _ = runner([page], handler, batch_size=2)
    assert feed.poll_once() == 6
    assert batches == [["1", "2"], ["3", "4"], ["5"]]  # MSG#0000 filtered out
    assert feed.delivered == 5
    assert feed.poll_once() == 0


def test_a_partial_failure_is_retried_from_the_failed_record() -> None:
    calls: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        calls.append(sequences)
        if len(calls) == 1:
            return {"batchItemFailures": [{"itemIdentifier": "2"}]}
        return {"batchItemFailures": []}

    feed, _ = runner([[raw(1), raw(2), raw(3)]], handler)
    feed.poll_once()
    assert calls == [["1", "2", "3"], ["2", "3"]]
    assert feed.delivered == 3


def test_a_failing_batch_is_given_up_after_the_retries() -> None:
    calls = 0

    def handler(event: dict[str, Any], context: Any) -> Any:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    feed, _ = runner([[raw(1)], [raw(2)]], handler, max_retries=1)
    feed.poll_once()
    assert calls == 2  # the first attempt and one retry
    assert feed.delivered == 0
    feed.poll_once()  # the shard moved on: the next record is delivered (and fails) in turn
    assert calls == 4
