"""BatchWriteItem bodies made by the short path say exactly what botocore's serializer says."""

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
    "packed": {"B": b"\x01\x00\xff compressed"},
    "blobs": {"BS": [b"\x00", bytearray(b"\xfe\xff")]},
    "nested": {"M": {"b": {"B": b""}, "l": {"L": [{"B": b"\x7f" * 100}]}}},
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
    ours = batch_write._body("records", requests)
    assert ours is not None
    assert json.loads(ours) == json.loads(theirs)


def test_values_json_cannot_hold_are_left_to_botocore() -> None:
    requests = [{"PutRequest": {"Item": {"tags": {"SS": {"x", "y"}}}}}]  # a Python set
    assert batch_write._body("t", requests) is None


def test_a_string_json_cannot_encode_in_utf8_is_left_to_botocore() -> None:
    requests = [{"PutRequest": {"Item": {"s": {"S": "lone \ud800 surrogate"}}}}]
    assert batch_write._body("t", requests) is None
