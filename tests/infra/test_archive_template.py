"""template.yaml: the raw archive bucket is private, encrypted, TLS-only and expiring, and only
the ingest functions may only put objects in it (a failed request's body is marked discarded,
never deleted; they never read)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.iam import inline_statements
from tests.infra.test_template import of_type, translated

INGEST_FUNCTIONS = ["IngestFunction", "IngestMultiFunction", "IngestVogentRawFunction"]


def bucket() -> dict[str, Any]:
    props: dict[str, Any] = translated()["Resources"]["ArchiveBucket"]["Properties"]
    return props


def test_archive_bucket_is_encrypted_private_and_expires_by_parameter() -> None:
    props = bucket()
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True
    )
    (expiry,) = (r for r in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r)
    assert expiry["Status"] == "Enabled"
    assert expiry["ExpirationInDays"] == {"Ref": "ArchiveRetentionDays"}
    assert translated()["Parameters"]["ArchiveRetentionDays"]["Default"] == 90


def test_archive_bucket_refuses_plain_http() -> None:
    (policy,) = (
        p
        for p in of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": "ArchiveBucket"}
    )
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _s3_actions(role: dict[str, Any]) -> list[tuple[str, Any]]:
    found = []
    for statement in inline_statements(role):
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            if action.startswith("s3:"):
                found.append((action, statement["Resource"]))
    return found


@pytest.mark.parametrize("function", INGEST_FUNCTIONS)
def test_ingest_functions_may_only_put_archive_objects(function: str) -> None:
    resources = translated()["Resources"]
    env = resources[function]["Properties"]["Environment"]["Variables"]
    assert env["ARCHIVE_BUCKET"] == {"Ref": "ArchiveBucket"}
    role = resources[f"{function}Role"]
    objects = {"Fn::Sub": "${ArchiveBucket.Arn}/*"}
    assert _s3_actions(role) == [("s3:PutObject", objects)]


def test_no_other_function_touches_the_archive() -> None:
    resources = translated()["Resources"]
    for name in of_type("AWS::Lambda::Function"):
        if name in INGEST_FUNCTIONS:
            continue
        role = resources.get(f"{name}Role")
        touched = [str(resource) for _, resource in _s3_actions(role)] if role else []
        assert not any("ArchiveBucket" in resource for resource in touched), name
