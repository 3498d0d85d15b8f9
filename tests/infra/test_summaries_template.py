"""Conversation summaries as deployed: the records table's stream feeds the summaries worker
(filtered to record items, batched, bounded retries, failures to a queue with alarms), the
worker may only update its own table, and no ingest function touches summaries any more."""

from __future__ import annotations

import json
from typing import Any

from devtools.template import load_template
from tests.infra.iam import inline_statements
from tests.infra.test_template import of_type

WORKER = "SummariesWorkerFunction"


def mapping() -> dict[str, Any]:
    (props,) = (
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": WORKER}
    )
    return props


def test_records_table_streams_new_images() -> None:
    table = load_template()["Resources"]["RecordsTable"]["Properties"]
    # Images, not KEYS_ONLY: a summary needs the record's env and source; OLD too: the lake
    # dates a removed record's tombstone by its old image.
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_worker_reads_the_records_stream_in_large_batches_from_its_start() -> None:
    props = mapping()
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["RecordsTable", "StreamArn"]}
    assert props["BatchSize"] == 1000
    assert props["MaximumBatchingWindowInSeconds"] == 1
    # TRIM_HORIZON: records written between the stream's creation and the mapping's count too.
    assert props["StartingPosition"] == "TRIM_HORIZON"


def test_worker_sees_only_record_items() -> None:
    patterns = [json.loads(f["Pattern"]) for f in mapping()["FilterCriteria"]["Filters"]]
    assert patterns == [
        {
            "eventName": ["INSERT", "MODIFY"],
            # Records have an order key; OTel trace-map items do not.
            "dynamodb": {"NewImage": {"ok": {"S": [{"exists": True}]}}},
        },
        {"eventName": ["REMOVE"]},  # a removal carries keys only: the worker checks them
    ]


def test_worker_failures_are_retried_bounded_and_land_in_a_queue() -> None:
    props = mapping()
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["MaximumRecordAgeInSeconds"] <= 86400
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["SummariesFailureQueue", "Arn"]
    }
    queue = of_type("AWS::SQS::Queue")["SummariesFailureQueue"]["Properties"]
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True


def test_alarms_on_the_failure_queue_and_the_stream_lag() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    depth = alarms["SummariesFailureQueueAlarm"]["Properties"]
    assert depth["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert depth["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SummariesFailureQueue", "QueueName"]}}
    ]
    assert depth["Threshold"] == 0
    age = alarms["SummariesIteratorAgeAlarm"]["Properties"]
    assert age["MetricName"] == "IteratorAge"
    assert age["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": WORKER}}]


def test_worker_may_only_update_read_and_drop_summaries() -> None:
    statements = inline_statements(of_type("AWS::IAM::Role")[f"{WORKER}Role"])
    by_resource: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        resource = json.dumps(statement["Resource"], sort_keys=True)
        by_resource.setdefault(resource, set()).update(
            [actions] if isinstance(actions, str) else actions
        )
    summaries = json.dumps({"Fn::GetAtt": ["ConversationSummariesTable", "Arn"]})
    assert by_resource.pop(summaries) == {
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
    }
    # The event source mapping's part: reading the records stream (only it, not the table) and
    # the on-failure queue.
    assert by_resource == {
        json.dumps({"Fn::GetAtt": ["RecordsTable", "StreamArn"]}): {
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        },
        json.dumps({"Fn::GetAtt": ["SummariesFailureQueue", "Arn"]}): {"sqs:SendMessage"},
    }


def test_only_the_list_and_the_worker_reach_the_summaries_table() -> None:
    """The ingest functions write records only (their summaries follow from the stream)."""
    reaching = {
        name.removesuffix("Role")
        for name, role in of_type("AWS::IAM::Role").items()
        if "ConversationSummariesTable" in json.dumps(inline_statements(role))
    }
    assert reaching == {"IngestConversationsFunction", WORKER}
