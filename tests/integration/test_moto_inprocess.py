"""devtools/moto_inprocess: the dev server's own calls to its embedded moto server skip HTTP,
are answered exactly as over HTTP, and stop being short-circuited when asked."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from devtools.moto_inprocess import dispatch_in_process
from devtools.server import start_moto


def _client(service: str, endpoint: str) -> Any:
    config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=config)


def test_calls_to_the_embedded_server_are_answered_without_it(dynamodb: Any) -> None:
    endpoint, server = start_moto()
    stop_dispatch = dispatch_in_process(endpoint)
    stopped = False
    try:
        table, bucket = f"inprocess-{uuid.uuid4().hex[:8]}", f"inprocess-{uuid.uuid4().hex[:8]}"
        storage, s3 = _client("dynamodb", endpoint), _client("s3", endpoint)
        storage.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        s3.create_bucket(Bucket=bucket)
        server.stop()  # from here on, only the in-process path can answer
        stopped = True

        storage.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "é" * 3}})
        assert storage.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]["v"] == {
            "S": "ééé"
        }
        with pytest.raises(ClientError) as refused:  # moto's errors come through as errors
            storage.put_item(
                TableName=table,
                Item={"pk": {"S": "a"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
        body = bytes(range(256)) * 100
        s3.put_object(Bucket=bucket, Key="k/1.gz", Body=body)
        assert s3.get_object(Bucket=bucket, Key="k/1.gz")["Body"].read() == body
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="k/")
        assert [o["Key"] for o in listed["Contents"]] == ["k/1.gz"]

        stop_dispatch()  # the server is gone: now the call really goes over HTTP, and fails
        with pytest.raises(EndpointConnectionError):
            storage.get_item(TableName=table, Key={"pk": {"S": "a"}})
    finally:
        stop_dispatch()
        if not stopped:
            server.stop()
