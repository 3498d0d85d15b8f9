"""The records table's stream (moto) → the template's filter → the summaries worker's real
handler, as Lambda's event source mapping does on AWS and `make dev` does locally."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from devtools.streams import StreamMapping, lambda_record, stream_mappings, wanted
from devtools.template import load_template
from functions.summaries_worker.app import handler as summaries_handler
from tests.support import LambdaContext

(MAPPING,) = (
    m
    for m in stream_mappings(load_template())
    if m.function.logical_id == "SummariesWorkerFunction"
)


class StreamReader:
    """New records of a table's stream (moto), from where it stands when made, as Lambda would
    deliver them."""

    def __init__(self, table: str) -> None:
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        self.arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        # moto's in-process mock routes streams calls only by this host name.
        self.client = boto3.client(
            "dynamodbstreams",
            region_name="us-east-1",
            endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com",
        )
        shards = self.client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = [
            self.client.get_shard_iterator(
                StreamArn=self.arn, ShardId=s["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for s in shards
        ]

    def read(self) -> list[dict[str, Any]]:
        """Every record written since the last read, as Lambda delivers them."""
        records: list[dict[str, Any]] = []
        for i, iterator in enumerate(self.iterators):
            while True:
                page = self.client.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page["NextShardIterator"]
                records += [lambda_record(r, self.arn) for r in page["Records"]]
                if not page["Records"]:
                    break
            self.iterators[i] = iterator
        return records


class RecordsStream(StreamReader):
    """Reads the records table's stream from where it stands when made."""

    def __init__(self) -> None:
        from shared.settings import get_settings

        super().__init__(get_settings().records_table)

    def deliver(self, mapping: StreamMapping = MAPPING) -> list[dict[str, Any]]:
        """What the filter passes of the new records, through the handler in batches of the
        mapping's size; the handler's answers."""
        batch = [r for r in self.read() if wanted(mapping, r)]
        answers = []
        for start in range(0, len(batch), mapping.batch_size):
            event = {"Records": batch[start : start + mapping.batch_size]}
            answers.append(summaries_handler(event, LambdaContext()))
        return answers

    def settle(self) -> None:
        """Summaries up to date with every record written so far."""
        for answer in self.deliver():
            assert answer == {"batchItemFailures": []}, answer


@cache
def records_stream() -> RecordsStream:
    """One reader for the session (the mock is session-wide): make it before the records you
    want summarized are written."""
    return RecordsStream()
