"""template.yaml: the analytics lake (docs/lake.md) — its bucket, its Glue table for Athena
(partition projection, no crawler), the stream workers' mappings, the compaction schedule, and
least privilege: each lake function gets exactly the S3 actions it uses, on the lake only."""

from __future__ import annotations

import json
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from devtools.template import TEMPLATE_PATH, load_template
from shared.lake.models import COLUMNS
from tests.infra.iam import inline_statements
from tests.infra.test_template import of_type, translated

LAKE_FUNCTIONS = {
    "LakeRecordsWorkerFunction": [
        ("s3:PutObject", "${LakeBucket.Arn}/records/*"),
        ("s3:AbortMultipartUpload", "${LakeBucket.Arn}/records/*"),
    ],
    "LakeConversationsWorkerFunction": [
        ("s3:PutObject", "${LakeBucket.Arn}/records/*"),
        ("s3:AbortMultipartUpload", "${LakeBucket.Arn}/records/*"),
    ],
    # Rewrites small files and builds the search index (docs/search.md) under index/.
    "LakeCompactionFunction": [
        ("s3:ListBucket", "LakeBucket.Arn"),
        *(
            (action, f"${{LakeBucket.Arn}}/{folder}/*")
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
            for folder in ("records", "index")
        ),
        *(("s3:AbortMultipartUpload", f"${{LakeBucket.Arn}}/{f}/*") for f in ("records", "index")),
    ],
    # Reads the search index and the lake's newest files (the tail).
    "SearchFunction": [
        ("s3:ListBucket", "LakeBucket.Arn"),
        ("s3:GetObject", "${LakeBucket.Arn}/records/*"),
        ("s3:GetObject", "${LakeBucket.Arn}/index/*"),
    ],
    # Lists the caller's folder and reads its records with DuckDB (docs/analytics.md), and
    # the clusters' files for cluster (docs/clusters.md).
    "AnalyticsFunction": [
        ("s3:ListBucket", "LakeBucket.Arn"),
        ("s3:GetObject", "${LakeBucket.Arn}/records/*"),
        ("s3:GetObject", "${LakeBucket.Arn}/clusters/*"),
    ],
    # Reads the clusters' files only.
    "ClustersFunction": [
        ("s3:ListBucket", "LakeBucket.Arn"),
        ("s3:GetObject", "${LakeBucket.Arn}/clusters/*"),
    ],
    # Read the records; write and replace the clusters' files.
    **{
        function: [
            ("s3:ListBucket", "LakeBucket.Arn"),
            ("s3:GetObject", "${LakeBucket.Arn}/records/*"),
            *((a, "${LakeBucket.Arn}/clusters/*") for a in ("s3:GetObject", "s3:PutObject")),
            ("s3:DeleteObject", "${LakeBucket.Arn}/clusters/*"),
        ]
        for function in ("ClusteringFunction", "ClusterAssignFunction")
    },
    # Lists the caller's folder and presigns GETs (the URLs carry its permissions).
    "LakeFilesFunction": [
        ("s3:ListBucket", "LakeBucket.Arn"),
        ("s3:GetObject", "${LakeBucket.Arn}/records/*"),
    ],
}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def props(name: str) -> dict[str, Any]:
    found: dict[str, Any] = translated()["Resources"][name]["Properties"]
    return found


def test_lake_bucket_is_private_encrypted_versioned_with_lifecycle_rules() -> None:
    bucket = props("LakeBucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    # Compaction deletes merged batch files: their noncurrent versions expire.
    assert rules["expire-replaced-files"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    (transition,) = rules["compacted-to-infrequent-access"]["Transitions"]
    assert transition["StorageClass"] == "STANDARD_IA"
    assert all(r["Status"] == "Enabled" for r in rules.values())
    (policy,) = (
        p
        for p in of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": "LakeBucket"}
    )
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_glue_table_projects_tenant_and_date_partitions_for_athena() -> None:
    table = props("LakeMessagesTable")["TableInput"]
    parameters = table["Parameters"]
    # Tenant ids are unbounded: injected from the query's WHERE clause; dates from a range.
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.tenant.type"] == "injected"
    assert parameters["projection.date.type"] == "date"
    assert parameters["projection.date.format"] == "yyyy-MM-dd"
    assert parameters["storage.location.template"] == {
        "Fn::Sub": "s3://${LakeBucket}/records/tenant=${!tenant}/date=${!date}"
    }
    assert [k["Name"] for k in table["PartitionKeys"]] == ["tenant", "date"]
    descriptor = table["StorageDescriptor"]
    assert descriptor["Location"] == {"Fn::Sub": "s3://${LakeBucket}/records/"}
    assert "parquet" in descriptor["SerdeInfo"]["SerializationLibrary"].lower()
    athena_types = {"VARCHAR": "string", "TIMESTAMP": "timestamp", "BIGINT": "bigint"}
    athena_types["BOOLEAN"] = "boolean"
    # The Parquet files' columns, in order, with the types DuckDB writes.
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == [
        (name, athena_types[kind]) for name, kind in COLUMNS
    ]
    assert props("LakeDatabase")["DatabaseInput"]["Name"] == {"Fn::Sub": "parley_lake_${Stage}"}


@pytest.mark.parametrize(
    ("function", "table"),
    [
        ("LakeRecordsWorkerFunction", "RecordsTable"),
        ("LakeConversationsWorkerFunction", "ConversationsTable"),
    ],
)
def test_lake_workers_read_their_stream_without_ever_blocking_it(function: str, table: str) -> None:
    (mapping,) = (
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    )
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert mapping["MaximumRecordAgeInSeconds"] == 86400
    # What is given up on is never silently lost: it goes to the failure queue (alarmed).
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["LakeFailureQueue", "Arn"]
    }
    assert props("LakeFailureQueueAlarm")["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["LakeFailureQueue", "QueueName"]
    }
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FilterCriteria"]["Filters"]


def test_records_stream_carries_old_images_for_the_lakes_tombstones() -> None:
    stream = load_template()["Resources"]["RecordsTable"]["Properties"]["StreamSpecification"]
    assert stream == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    records_filters = [
        json.loads(f["Pattern"])
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "LakeRecordsWorkerFunction"}
        for f in m["Properties"]["FilterCriteria"]["Filters"]
    ]
    assert {
        "eventName": ["REMOVE"],
        "dynamodb": {"OldImage": {"ok": {"S": [{"exists": True}]}}},
    } in (records_filters)


def test_compaction_runs_on_a_schedule_one_at_a_time() -> None:
    function = load_template()["Resources"]["LakeCompactionFunction"]["Properties"]
    (event,) = function["Events"].values()
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == "rate(10 minutes)"
    assert function["ReservedConcurrentExecutions"] == 1
    assert function["Timeout"] == 900


def _statements(function: str) -> list[tuple[str, str]]:
    role = translated()["Resources"][f"{function}Role"]
    found = []
    for statement in inline_statements(role):
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            if action.startswith("s3:"):
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    text = resource.get("Fn::Sub") or ".".join(resource.get("Fn::GetAtt", []))
                    found.append((action, text))
    return found


@pytest.mark.parametrize("function", sorted(LAKE_FUNCTIONS))
def test_each_lake_function_gets_exactly_the_s3_actions_it_uses(function: str) -> None:
    assert sorted(_statements(function)) == sorted(LAKE_FUNCTIONS[function])
    variables = props(function)["Environment"]["Variables"]
    assert variables["LAKE_URI"] == {"Fn::Sub": "s3://${LakeBucket}"}


def test_no_other_function_touches_the_lake() -> None:
    for name in of_type("AWS::Lambda::Function"):
        if name in LAKE_FUNCTIONS:
            continue
        role = translated()["Resources"].get(f"{name}Role")
        text = json.dumps(role["Properties"].get("Policies", [])) if role else ""
        assert "LakeBucket" not in text, name


def _installed_bytes(distribution: str) -> int:
    files = metadata.distribution(distribution).files or []
    return sum(
        Path(str(f.locate())).stat().st_size for f in files if Path(str(f.locate())).exists()
    )


def test_lake_functions_fit_lambdas_unzipped_limit() -> None:
    """Code + SharedLayer + LakeLayer under 250 MB unzipped, measured on the installed packages
    (this host's wheels; Lambda's arm64 ones are within a few MB of them)."""
    with (TEMPLATE_PATH.parent / "pyproject.toml").open("rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    names = [d.split(">")[0].split("=")[0].split("[")[0].strip() for d in dependencies]
    shared = sum(_installed_bytes(n) for n in names if not n.startswith(("boto3", "duckdb")))
    shared += sum(p.stat().st_size for p in (TEMPLATE_PATH.parent / "shared").rglob("*.py"))
    lake = sum(_installed_bytes(n) for n in names if n.startswith("duckdb"))
    assert lake > 10 * 1024 * 1024  # really measured: DuckDB alone is tens of MB
    assert shared + lake < LAMBDA_UNZIPPED_LIMIT
