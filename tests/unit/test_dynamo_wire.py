"""BatchWriteItem bodies made by json.dumps are exactly what botocore's serializer makes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared import batch_write, dynamo
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


@pytest.mark.parametrize(
    "requests",
    [
        [{"PutRequest": {"Item": ITEM}}],
        [{"PutRequest": {"Item": ITEM}}, {"DeleteRequest": {"Key": {"pk": {"S": "p"}}}}],
    ],
)
def test_body_matches_botocore(client: Any, requests: list[Any]) -> None:
    parameters = {"RequestItems": {"records": requests}}
    model = client.meta.service_model.operation_model("BatchWriteItem")
    theirs = client._serializer.serialize_to_request(parameters, model)["body"]
    assert batch_write._body("records", requests) == theirs


def test_bytes_are_left_to_botocore() -> None:
    requests = [{"PutRequest": {"Item": {"b": {"B": b"\x00\xff"}}}}]
    assert batch_write._body("t", requests) is None
