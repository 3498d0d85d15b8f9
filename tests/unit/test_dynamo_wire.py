"""BatchWriteItem bodies made by json.dumps are exactly what botocore's serializer makes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shared import dynamo
from shared.settings import Settings

ITEM: dict[str, Any] = {
    "pk": {"S": 'acme#conv "quoted" \\ é 😀 \u2028'},
    "sk": {"S": "rec_1"},
    "rec": {"S": json.dumps({"nested": [1, 2.5, None, True]})},
    "n": {"N": "12.5"},
    "flag": {"BOOL": False},
    "none": {"NULL": True},
    "list": {"L": [{"S": "a"}, {"M": {"k": {"N": "1"}}}]},
    "set": {"SS": ["x", "y"]},
}


@pytest.fixture(scope="module")
def client() -> Any:
    settings = Settings(aws_region="us-east-1", dynamodb_endpoint="http://127.0.0.1:9")
    return dynamo.make_client(settings)


def botocore_request(client: Any, parameters: dict[str, Any], name: str) -> Any:
    inner = client._serializer._inner  # the serializer botocore built for this client
    return inner.serialize_to_request(parameters, model(client, name))


def model(client: Any, name: str = "BatchWriteItem") -> Any:
    return client.meta.service_model.operation_model(name)


@pytest.mark.parametrize(
    "requests",
    [
        [{"PutRequest": {"Item": ITEM}}],
        [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": {"pk": {"S": "p"}}}}],
    ],
)
def test_body_and_envelope_match_botocore(client: Any, requests: list[Any]) -> None:
    parameters = {"RequestItems": {"records": requests}}
    ours = client._serializer.serialize_to_request(parameters, model(client))
    theirs = botocore_request(client, parameters, "BatchWriteItem")
    assert ours == theirs


def test_bytes_fall_back_to_botocore(client: Any) -> None:
    parameters = {"RequestItems": {"t": [{"PutRequest": {"Item": {"b": {"B": b"\x00\xff"}}}}]}}
    ours = client._serializer.serialize_to_request(parameters, model(client))
    sent = json.loads(ours["body"])
    assert (
        sent["RequestItems"]["t"][0]["PutRequest"]["Item"]["b"]["B"]
        == base64.b64encode(b"\x00\xff").decode()
    )


def test_other_operations_untouched(client: Any) -> None:
    parameters = {"TableName": "t", "Key": {"pk": {"S": "p"}}}
    ours = client._serializer.serialize_to_request(parameters, model(client, "GetItem"))
    assert ours == botocore_request(client, parameters, "GetItem")
