"""Every function's role as the SAM transform makes it: no `Resource: "*"` in any inline
statement, no managed policy beyond the two every Lambda function needs, and no action its code
does not call (the allow-table below, one row per function)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.iam import inline_statements
from tests.infra.test_template import of_type

# The only managed policies a function role may carry. Both are AWS's and use `Resource: "*"`
# because the services require it: CloudWatch Logs (AWSLambdaBasicExecutionRole: the function's
# own log group is created by the template, Lambda still needs CreateLogStream/PutLogEvents) and
# X-Ray (AWSXrayWriteOnlyAccess for `Tracing: Active`: xray:PutTraceSegments and
# PutTelemetryRecords have no resource-level permissions). The event-source policies SAM would
# add (AWSLambdaDynamoDBExecutionRole, AWSLambdaSQSQueueExecutionRole: any stream, any queue)
# are not allowed: those functions have explicit roles scoped to their own stream or queue.
ALLOWED_MANAGED_POLICIES = ("service-role/AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess")

# What Lambda's event source mappings call on a stream / a queue (scoped to that ARN).
STREAM_READ = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
QUEUE_RECEIVE = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
ON_FAILURE = {"sqs:SendMessage"}  # a stream mapping's on-failure destination queue
LAKE_WRITE = {"s3:PutObject", "s3:AbortMultipartUpload"}  # shared/lake writer (multipart)

# function → every action its role may grant, with the code that calls them. A new function
# adds its row here (the test below fails for a function without one).
ALLOWED_ACTIONS: dict[str, set[str]] = {
    # shared/auth.py KeyStore.tenant_for: one GetItem on the keys table.
    "AuthorizerFunction": {"dynamodb:GetItem"},
    # shared/ingest/store.py list: Query on the by_order index, BatchGetItem for the records.
    "ListRecordsFunction": {"dynamodb:Query", "dynamodb:BatchGetItem"},
    # shared/ingest/summaries.py list: Query on the activity index.
    "IngestConversationsFunction": {"dynamodb:Query"},
    # shared/conversations/store: TransactWriteItems of Puts and Updates (IAM checks PutItem and
    # UpdateItem per item), claims/agents/fencing (GetItem, PutItem, UpdateItem), the read back
    # (Query); shared/idempotency.py on its own table (GetItem, PutItem, DeleteItem).
    **{
        function: {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
        }
        for function in (
            "ConversationsCreateFunction",
            "ConversationsAppendFunction",
            "RunsCreateFunction",
            "RunsAppendFunction",
        )
    },
    # shared/conversations/store/listing.py list_page and count: Query on the tenant index,
    # and BatchGetItem of the page's META items.
    "ConversationsListFunction": {"dynamodb:Query", "dynamodb:BatchGetItem"},
    # shared/conversations/store/reads.py load: one Query of the conversation's items.
    "ConversationsGetFunction": {"dynamodb:Query"},
    # shared/conversations/store/reads.py load_summary: GetItem of the META item.
    "ConversationsInsightsFunction": {"dynamodb:GetItem"},
    "RunsInsightsFunction": {"dynamodb:GetItem"},
    # shared/ingest/store.py put (BatchWriteItem); shared/idempotency.py (Get/Put/DeleteItem);
    # shared/ingest/archive.py PutObject (a body it did not acknowledge is marked, not deleted).
    **{
        function: {
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "s3:PutObject",
        }
        for function in ("IngestFunction", "IngestMultiFunction", "IngestVogentRawFunction")
    },
    # shared/otel/store.py and service.py: BatchGetItem (trace map, existing records),
    # BatchWriteItem (puts and deletes), Query (a trace's records).
    "OtelTracesFunction": {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query"},
    # shared/webhooks/store.py create (PutItem) after counting the tenant's endpoints (Query).
    "WebhooksCreateFunction": {"dynamodb:PutItem", "dynamodb:Query"},
    # shared/webhooks/store.py list (Query).
    "WebhooksListFunction": {"dynamodb:Query"},
    # shared/webhooks/store.py delete (DeleteItem).
    "WebhooksDeleteFunction": {"dynamodb:DeleteItem"},
    # shared/webhooks/store.py get (GetItem), shared/webhooks/queue.py (SendMessage).
    "WebhooksTestFunction": {"dynamodb:GetItem", "sqs:SendMessage"},
    # shared/webhooks fan-out: the tenant's endpoints (Query), one message each (SendMessage).
    "WebhookFanoutFunction": {"dynamodb:Query", "sqs:SendMessage"} | STREAM_READ | ON_FAILURE,
    # shared/webhooks delivery: the endpoint (GetItem), backoff (ChangeMessageVisibility),
    # exhausted messages to the DLQ (SendMessage).
    "WebhookDeliveryFunction": {
        "dynamodb:GetItem",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
    }
    | QUEUE_RECEIVE,
    # shared/insights/worker.py: the conversation (Query), its insights slot (UpdateItem);
    # Bedrock's Converse only with InsightsAnalyzer=bedrock.
    "InsightsWorkerFunction": {"dynamodb:Query", "dynamodb:UpdateItem", "bedrock:InvokeModel"}
    | STREAM_READ
    | ON_FAILURE,
    # shared/ingest/summaries.py: UpdateItem, GetItem (a retried batch), DeleteItem.
    "SummariesWorkerFunction": {"dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"}
    | STREAM_READ
    | ON_FAILURE,
    # shared/lake writer: batch files under records/.
    "LakeRecordsWorkerFunction": LAKE_WRITE | STREAM_READ | ON_FAILURE,
    # shared/lake conversations worker: the changed conversation (Query), batch files.
    "LakeConversationsWorkerFunction": {"dynamodb:Query"} | LAKE_WRITE | STREAM_READ | ON_FAILURE,
    # shared/lake/files: list the tenant's files, presigned GET URLs.
    "LakeFilesFunction": {"s3:ListBucket", "s3:GetObject"},
    # shared/lake/compaction: read, rewrite and drop small files; build the search index.
    "LakeCompactionFunction": {
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    },
    # shared/search: the index and the lake's tail (DuckDB httpfs: list + get).
    "SearchFunction": {"s3:ListBucket", "s3:GetObject"},
    # shared/analytics/service.py: DuckDB reads the tenant's lake partitions (list + get).
    "AnalyticsFunction": {"s3:ListBucket", "s3:GetObject"},
    # shared/clusters/reads.py: the tenant's clusters files (list + get).
    "ClustersFunction": {"s3:ListBucket", "s3:GetObject"},
    # shared/clusters/service.py: reads the lake, writes and replaces the clusters' files;
    # Titan embeddings only with ClustersEmbedder=bedrock.
    **{
        function: {
            "s3:ListBucket",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "bedrock:InvokeModel",
        }
        for function in ("ClusteringFunction", "ClusterAssignFunction")
    },
    # No AWS calls: static console, SDK config, agent matching, OTLP metrics and logs (parsed
    # and acknowledged, nothing stored).
    "ConsoleFunction": set(),
    "SdkConfigFunction": set(),
    "AgentsMatchFunction": set(),
    "OtelMetricsFunction": set(),
    "OtelLogsFunction": set(),
}

# shared/quotas.py: every function that stores events charges its tenant's daily usage (one
# UpdateItem on the usage table that adds and returns the day's totals).
QUOTA_CHARGED = (
    "IngestFunction",
    "IngestMultiFunction",
    "IngestVogentRawFunction",
    "OtelTracesFunction",
    "ConversationsCreateFunction",
    "ConversationsAppendFunction",
    "RunsCreateFunction",
    "RunsAppendFunction",
)
for _function in QUOTA_CHARGED:
    ALLOWED_ACTIONS[_function] = ALLOWED_ACTIONS[_function] | {"dynamodb:UpdateItem"}

# shared/cursors.py: the functions that hand out page cursors read the signing secret from
# Secrets Manager (current and previous value) on their first cursor.
CURSOR_SIGNERS = (
    "ListRecordsFunction",
    "SearchFunction",
    "IngestConversationsFunction",
    "ConversationsListFunction",
    "LakeFilesFunction",
    "ClustersFunction",
)
for _function in CURSOR_SIGNERS:
    ALLOWED_ACTIONS[_function] = ALLOWED_ACTIONS[_function] | {"secretsmanager:GetSecretValue"}


def function_roles() -> dict[str, dict[str, Any]]:
    """Each Lambda function → the IAM role it runs with (generated by SAM or declared)."""
    roles = of_type("AWS::IAM::Role")
    result = {}
    for name, function in of_type("AWS::Lambda::Function").items():
        role_name, attribute = function["Properties"]["Role"]["Fn::GetAtt"]
        assert attribute == "Arn", name
        result[name] = roles[role_name]
    return result


def actions_of(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_every_function_has_a_row() -> None:
    functions = set(function_roles())
    assert functions == ALLOWED_ACTIONS.keys()


@pytest.mark.parametrize("function", sorted(function_roles()))
def test_role_has_no_wildcard_resource_and_only_basic_managed_policies(function: str) -> None:
    role = function_roles()[function]["Properties"]
    for arn in role.get("ManagedPolicyArns", []):
        text = arn if isinstance(arn, str) else arn.get("Fn::Sub", json.dumps(arn))
        assert text.endswith(ALLOWED_MANAGED_POLICIES), (function, arn)
    for statement in inline_statements(function_roles()[function]):
        assert statement["Effect"] == "Allow", function
        assert "NotAction" not in statement, function
        assert "NotResource" not in statement, function
        assert not any(a.endswith(":*") or a == "*" for a in actions_of(statement)), function
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            # "*", an ARN ending in ":*" (every queue, table, ... of the account), or a policy
            # template's name parameter set to "*" (e.g. SQSPollerPolicy QueueName).
            text = json.dumps(resource)
            assert text != '"*"', (function, statement)
            assert ':*"' not in text, (function, statement)
            assert ': "*"' not in text, (function, statement)


@pytest.mark.parametrize("function", sorted(ALLOWED_ACTIONS))
def test_role_grants_only_the_actions_the_code_calls(function: str) -> None:
    granted = set().union(*map(actions_of, inline_statements(function_roles()[function])))
    assert granted <= ALLOWED_ACTIONS[function], granted - ALLOWED_ACTIONS[function]


@pytest.mark.parametrize(
    ("function", "source"),
    [
        ("WebhookFanoutFunction", {"Fn::GetAtt": ["ConversationsTable", "StreamArn"]}),
        ("InsightsWorkerFunction", {"Fn::GetAtt": ["ConversationsTable", "StreamArn"]}),
        ("SummariesWorkerFunction", {"Fn::GetAtt": ["RecordsTable", "StreamArn"]}),
        ("LakeRecordsWorkerFunction", {"Fn::GetAtt": ["RecordsTable", "StreamArn"]}),
        ("LakeConversationsWorkerFunction", {"Fn::GetAtt": ["ConversationsTable", "StreamArn"]}),
        ("WebhookDeliveryFunction", {"Fn::GetAtt": ["WebhookDeliveryQueue", "Arn"]}),
    ],
)
def test_event_source_permissions_name_only_the_functions_own_source(
    function: str, source: dict[str, Any]
) -> None:
    mappings = [
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert [m["EventSourceArn"] for m in mappings] == [source]
    reading = STREAM_READ | QUEUE_RECEIVE
    scoped = [
        s["Resource"]
        for s in inline_statements(function_roles()[function])
        if actions_of(s) & reading
    ]
    assert scoped == [source]


# shared/webhooks/crypto.py: webhook signing secrets are sealed under the KMS key: a data key
# per secret when one is made (create, rotate), opened only to sign deliveries.
ALLOWED_ACTIONS["WebhooksCreateFunction"] |= {"kms:GenerateDataKey"}
ALLOWED_ACTIONS["WebhookDeliveryFunction"] |= {"kms:Decrypt"}
# shared/webhooks/store.py rotate: read the row, swap its secrets (GetItem, UpdateItem).
ALLOWED_ACTIONS["WebhooksRotateSecretFunction"] = {
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "kms:GenerateDataKey",
}
