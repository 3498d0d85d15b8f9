"""The webhook resources as deployed: event source mappings (filter, batch failures, bounded
retries, failure destinations), queues that outlast the retry window, alarms, and IAM that
gives each webhook function only what it uses — and no other function the webhooks table."""

from __future__ import annotations

import json
from typing import Any

from devtools.template import load_template
from tests.infra.iam import inline_statements
from tests.infra.test_template import of_type

# What Lambda's event source mappings call on the conversations stream and the delivery queue
# (each role scoped to its own stream or queue: tests/infra/test_roles.py).
STREAM_READ = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
QUEUE_RECEIVE = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
WEBHOOK_FUNCTIONS = {
    "WebhooksCreateFunction": {"dynamodb:PutItem", "dynamodb:Query"},
    "WebhooksListFunction": {"dynamodb:Query"},
    "WebhooksDeleteFunction": {"dynamodb:DeleteItem"},
    "WebhooksTestFunction": {"dynamodb:GetItem", "sqs:SendMessage"},
    "WebhookFanoutFunction": {"dynamodb:Query", "sqs:SendMessage"} | STREAM_READ,
    "WebhookDeliveryFunction": {
        "dynamodb:GetItem",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
    }
    | QUEUE_RECEIVE,
}
# Sealed signing secrets (shared/webhooks/crypto.py): who makes data keys and who opens them.
WEBHOOK_FUNCTIONS["WebhooksCreateFunction"] |= {"kms:GenerateDataKey"}
WEBHOOK_FUNCTIONS["WebhookDeliveryFunction"] |= {"kms:Decrypt"}
WEBHOOK_FUNCTIONS["WebhooksRotateSecretFunction"] = {
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "kms:GenerateDataKey",
}


def mapping(function: str) -> dict[str, Any]:
    (props,) = (
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    return props


def test_fanout_wakes_only_for_meta_inserts_and_modifies() -> None:
    props = mapping("WebhookFanoutFunction")
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["ConversationsTable", "StreamArn"]}
    (pattern,) = (json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"])
    assert pattern == {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"Keys": {"sk": {"S": ["META"]}}},
    }


def test_fanout_failures_are_bounded_and_land_in_a_queue() -> None:
    props = mapping("WebhookFanoutFunction")
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BisectBatchOnFunctionError"] is True
    assert 0 < props["MaximumRetryAttempts"] <= 10
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["WebhookFanoutDLQ", "Arn"]
    }


def test_delivery_reports_batch_failures_with_bounded_concurrency() -> None:
    props = mapping("WebhookDeliveryFunction")
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["WebhookDeliveryQueue", "Arn"]}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] <= 10
    assert props["ScalingConfig"]["MaximumConcurrency"] <= 20


def test_delivery_queue_outlasts_the_retry_window_and_has_a_dlq() -> None:
    queues = of_type("AWS::SQS::Queue")
    queue = queues["WebhookDeliveryQueue"]["Properties"]
    timeout = of_type("AWS::Lambda::Function")["WebhookDeliveryFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout  # AWS's advice for SQS-triggered functions
    # 24 h of retries, plus the longest delay (4 h x 1.25), fit in the retention
    assert queue["MessageRetentionPeriod"] >= 24 * 3600 + 5 * 3600
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["WebhookDeliveryDLQ", "Arn"]
    }
    for name in ("WebhookDeliveryDLQ", "WebhookFanoutDLQ"):
        assert queues[name]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for props in (q["Properties"] for q in queues.values()):
        assert props["SqsManagedSseEnabled"] is True


def test_alarms_watch_both_dlqs_and_the_stream_lag() -> None:
    alarms = [a["Properties"] for a in of_type("AWS::CloudWatch::Alarm").values()]
    watched = {
        (a["MetricName"], json.dumps(a["Dimensions"][0]["Value"], sort_keys=True)) for a in alarms
    }
    assert watched >= {
        (
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"Fn::GetAtt": ["WebhookDeliveryDLQ", "QueueName"]}),
        ),
        (
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"Fn::GetAtt": ["WebhookFanoutDLQ", "QueueName"]}),
        ),
        ("IteratorAge", json.dumps({"Ref": "WebhookFanoutFunction"})),
    }


def test_each_webhook_function_may_do_only_what_it_uses() -> None:
    roles = of_type("AWS::IAM::Role")
    for function, actions in WEBHOOK_FUNCTIONS.items():
        statements = inline_statements(roles[f"{function}Role"])
        granted = {
            action
            for s in statements
            for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        assert granted == actions, function
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "*" not in json.dumps(statement["Resource"]), function


def test_only_webhook_functions_reach_the_webhooks_table_and_its_secrets() -> None:
    for name, role in of_type("AWS::IAM::Role").items():
        if "WebhooksTable" in json.dumps(inline_statements(role)):
            assert name.removesuffix("Role") in WEBHOOK_FUNCTIONS, name


def test_queue_urls_reach_the_functions_that_use_them() -> None:
    resources = load_template()["Resources"]

    def variables(function: str) -> dict[str, Any]:
        env = resources[function]["Properties"].get("Environment") or {}
        found: dict[str, Any] = env.get("Variables") or {}
        return found

    for function in ("WebhooksTestFunction", "WebhookFanoutFunction", "WebhookDeliveryFunction"):
        assert variables(function)["WEBHOOK_QUEUE_URL"] == {"Ref": "WebhookDeliveryQueue"}
    assert variables("WebhookDeliveryFunction")["WEBHOOK_DLQ_URL"] == {"Ref": "WebhookDeliveryDLQ"}
