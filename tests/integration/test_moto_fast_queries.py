"""devtools/moto_dynamodb.fast_queries answers every Query exactly as moto's own Query does
(and its cheaper UpdateExpression handling still refuses what moto refuses).

Random items in a table with a local and two global indexes; random queries (base table or
index, key conditions on the sort key, Limit, direction, filters, projections, start keys, items
big enough for the 1 MB page limit), each paged to its end through the patched and through the
unpatched Table.query: the pages (items, counts, LastEvaluatedKey) are identical.
"""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.records_stream import StreamReader

TABLE = "test-moto-fast-queries"
MAX_PAGES = 60
_namespaces = itertools.count()

key_text = st.text(alphabet="abc", min_size=1, max_size=3)
item_strategy = st.fixed_dictionaries(
    {
        "pk": st.sampled_from(["p1", "p2"]),
        "sk": key_text,
        # half the items are big: three of them make a page reach the 1 MB limit
        "blob": st.sampled_from([0, 350_000]),
    },
    optional={
        "ok": key_text,
        "env": st.sampled_from(["x", "y"]),
        "gpk": st.sampled_from(["g1", "g2"]),
        "gsk": key_text,
        "kind": st.sampled_from(["k1", "k2"]),
        "n": st.integers(-3, 3),
    },
)
# target: (index, hash attribute, range attribute, the attributes of its keys)
TARGETS = {
    "table": (None, "pk", "sk", ("pk", "sk")),
    "by_order": ("by_order", "pk", "ok", ("pk", "sk", "ok")),
    "by_group": ("by_group", "gpk", "gsk", ("pk", "sk", "gpk", "gsk")),
    "by_kind": ("by_kind", "kind", None, ("pk", "sk", "kind")),
}
query_strategy = st.fixed_dictionaries(
    {
        "target": st.sampled_from(sorted(TARGETS)),
        "hash": st.sampled_from([0, 1]),
        "range": st.one_of(
            st.none(),
            st.tuples(st.sampled_from(["begins_with", ">=", "<", "="]), key_text),
            st.tuples(st.just("between"), key_text, key_text).map(lambda t: (t[0], *sorted(t[1:]))),
        ),
        "limit": st.one_of(st.none(), st.integers(1, 7)),
        "forward": st.booleans(),
        "filter": st.sampled_from([None, "env", "n"]),
        "projection": st.booleans(),
        "start": st.one_of(st.none(), st.integers(0, 40), key_text),
    }
)


@pytest.fixture(scope="module")
def table(dynamodb: Any) -> str:
    dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "sk", "ok", "gpk", "gsk", "kind")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_order",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "ok", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["env"]},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_group",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_kind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    return TABLE


def _stored(item: dict[str, Any], space: str) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for name, value in item.items():
        if name == "n":
            stored[name] = {"N": str(value)}
        elif name == "blob":
            stored[name] = {"S": "z" * value}
        elif name in ("pk", "gpk", "kind"):  # each example has partitions of its own
            stored[name] = {"S": f"{space}-{value}"}
        else:
            stored[name] = {"S": value}
    return stored


def _request(query: dict[str, Any], space: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    index, hash_attr, range_attr, key_attrs = TARGETS[query["target"]]
    hash_value = {"pk": ["p1", "p2"], "gpk": ["g1", "g2"], "kind": ["k1", "k2"]}[hash_attr]
    names = {"#h": hash_attr}
    values: dict[str, Any] = {":h": {"S": f"{space}-{hash_value[query['hash']]}"}}
    condition = "#h = :h"
    if query["range"] and range_attr:
        names["#r"] = range_attr
        operator, *operands = query["range"]
        for position, operand in enumerate(operands):
            values[f":r{position}"] = {"S": operand}
        if operator == "begins_with":
            condition += " AND begins_with(#r, :r0)"
        elif operator == "between":
            condition += " AND #r BETWEEN :r0 AND :r1"
        else:
            condition += f" AND #r {operator} :r0"
    request: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": query["forward"],
    }
    if index:
        request["IndexName"] = index
    if query["limit"]:
        request["Limit"] = query["limit"]
    if query["filter"] == "env":
        request["FilterExpression"] = "env = :env"
        values[":env"] = {"S": "x"}
    elif query["filter"] == "n":
        request["FilterExpression"] = "n > :n"
        values[":n"] = {"N": "0"}
    if query["projection"]:
        request["ProjectionExpression"] = "pk, sk, env"
    start = query["start"]
    candidates = [i for i in items if all(a in i for a in key_attrs)]
    if isinstance(start, int) and candidates:
        chosen = candidates[start % len(candidates)]
        request["ExclusiveStartKey"] = {a: chosen[a] for a in key_attrs}
    elif isinstance(start, str):  # a key no item has
        request["ExclusiveStartKey"] = {
            a: values[":h"] if a == hash_attr else {"S": start + "~"} for a in key_attrs
        }
    return request


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    request = dict(request)
    for _ in range(MAX_PAGES):
        page = client.query(**request)
        page.pop("ResponseMetadata", None)
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return pages


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(item_strategy, max_size=30, unique_by=lambda i: (i["pk"], i["sk"])),
    queries=st.lists(query_strategy, min_size=1, max_size=4),
)
def test_patched_queries_page_exactly_as_moto(
    dynamodb: Any, table: str, items: list[dict[str, Any]], queries: list[dict[str, Any]]
) -> None:
    from moto.dynamodb.models.table import Table

    space = f"s{next(_namespaces)}"
    stored = [_stored(item, space) for item in items]
    for item in stored:
        dynamodb.put_item(TableName=table, Item=item)
    assert getattr(Table.query, "__wrapped__", None) is not None, "fast_queries not installed"
    for query in queries:
        request = _request(query, space, stored)
        fast = _pages(dynamodb, request)
        with mock.patch.object(Table, "query", Table.query.__wrapped__):
            reference = _pages(dynamodb, request)
        assert fast == reference, request
    for item in stored:  # keeps the table small for the next examples
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.mark.parametrize("target", ["table", "by_order", "by_group"])
@pytest.mark.parametrize("forward", [True, False])
def test_pages_stop_at_one_megabyte_as_moto(
    dynamodb: Any, table: str, target: str, forward: bool
) -> None:
    from moto.dynamodb.models.table import Table

    space = f"s{next(_namespaces)}"
    items = [
        {"pk": "p1", "sk": f"k{i:02d}", "ok": f"o{9 - i}", "gpk": "g1", "gsk": "a", "blob": 350_000}
        for i in range(10)
    ]
    stored = [_stored(item, space) for item in items]
    for item in stored:
        dynamodb.put_item(TableName=table, Item=item)
    query = {"target": target, "hash": 0, "range": None, "limit": None, "forward": forward}
    request = _request({**query, "filter": None, "projection": False, "start": None}, space, [])
    fast = _pages(dynamodb, request)
    with mock.patch.object(Table, "query", Table.query.__wrapped__):
        reference = _pages(dynamodb, request)
    assert fast == reference
    assert [page["Count"] for page in fast] == [2, 2, 2, 2, 2]  # 3 items would pass 1 MB
    for item in stored:
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})


def test_an_unexpected_moto_release_is_refused() -> None:
    import moto

    from devtools import moto_dynamodb

    with (
        mock.patch.object(moto, "__version__", "99.0.0"),
        pytest.raises(RuntimeError, match=r"moto 99\.0\.0 is installed"),
    ):
        moto_dynamodb.fast_queries()


def test_update_expressions_are_still_checked_every_time(dynamodb: Any, table: str) -> None:
    """The shape checks run once per (expression, names, table keys); what they refuse is
    refused every time, and a name mapping that makes the same expression touch a key too."""
    key = {"pk": {"S": f"s{next(_namespaces)}-u"}, "sk": {"S": "a"}}
    for _ in range(2):
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #a = :v, env = if_not_exists(env, :v) ADD n :one",
            ExpressionAttributeNames={"#a": "ok"},
            ExpressionAttributeValues={":v": {"S": "x"}, ":one": {"N": "1"}},
        )
    item = dynamodb.get_item(TableName=table, Key=key)["Item"]
    assert (item["ok"], item["env"], item["n"]) == ({"S": "x"}, {"S": "x"}, {"N": "2"})
    refusals = [
        ("SET #a = :v, env = :v ADD n :one", {"#a": "sk"}),  # a key, through a name
        ("SET env = :v SET ok = :v ADD n :one", None),  # two SET clauses
        ("SET env = :v, env = :v ADD n :one", None),  # overlapping paths
    ]
    for expression, names in refusals:
        for _ in range(2):
            with pytest.raises(ClientError) as refused:
                dynamodb.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression=expression,
                    ExpressionAttributeValues={":v": {"S": "x"}, ":one": {"N": "1"}},
                    **({"ExpressionAttributeNames": names} if names else {}),
                )
            assert refused.value.response["Error"]["Code"] == "ValidationException"
    dynamodb.delete_item(TableName=table, Key=key)


def _unpatched(handler: Any) -> Any:
    """moto's own serializer on `handler` for the duration of a with block."""
    from moto.core.responses import BaseResponse

    return mock.patch.object(handler, "serialized", BaseResponse.serialized)


def test_data_calls_answer_as_moto_serializes_them(dynamodb: Any) -> None:
    """_plain_answers: every data call (and a stream's GetRecords) parses to the same answer
    as moto's own serializer writes, for every attribute type, blobs and timestamps included."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    name = f"{TABLE}-plain"
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    reader = StreamReader(name)  # moto's stream client, as the summaries tests read it
    streams, arn = reader.client, reader.arn
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]

    def item(key: str) -> dict[str, Any]:
        return {
            "pk": {"S": key},
            "b": {"B": b"\x00\xff zstd"},
            "n": {"N": "1.50"},
            "ss": {"SS": ["x", "y"]},
            "ns": {"NS": ["1", "2"]},
            "bs": {"BS": [b"\x01", b"\x02"]},
            "l": {"L": [{"S": "q"}, {"B": b"\xfe"}, {"M": {"k": {"N": "2"}}}, {"NULL": True}]},
            "m": {"M": {"bb": {"B": b"\x10"}, "t": {"BOOL": False}, "e": {"S": ""}}},
        }

    def calls(run: int) -> list[Any]:
        k = f"run{run}-"
        table = {"TableName": name, "ReturnConsumedCapacity": "TOTAL"}
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        answers = [
            dynamodb.put_item(**table, Item=item(f"{k}a")),
            dynamodb.put_item(**table, Item=item(f"{k}a"), ReturnValues="ALL_OLD"),
            dynamodb.get_item(**table, Key={"pk": {"S": f"{k}a"}}, ConsistentRead=True),
            dynamodb.get_item(**table, Key={"pk": {"S": f"{k}none"}}),
            dynamodb.update_item(
                **table,
                Key={"pk": {"S": f"{k}a"}},
                UpdateExpression="SET n = :v ADD c :one",
                ExpressionAttributeValues={":v": {"N": "3"}, ":one": {"N": "1"}},
                ReturnValues="ALL_NEW",
            ),
            dynamodb.batch_write_item(
                RequestItems={name: [{"PutRequest": {"Item": item(f"{k}b")}}]},
                ReturnConsumedCapacity="TOTAL",
            ),
            dynamodb.batch_get_item(
                RequestItems={name: {"Keys": [{"pk": {"S": f"{k}a"}}, {"pk": {"S": f"{k}b"}}]}}
            ),
            dynamodb.query(
                **table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": f"{k}a"}},
            ),
            dynamodb.transact_get_items(
                TransactItems=[{"Get": {"TableName": name, "Key": {"pk": {"S": f"{k}a"}}}}]
            ),
            dynamodb.transact_write_items(
                TransactItems=[{"Put": {"TableName": name, "Item": item(f"{k}c")}}]
            ),
            dynamodb.delete_item(**table, Key={"pk": {"S": f"{k}c"}}, ReturnValues="ALL_OLD"),
        ]
        records = streams.get_records(ShardIterator=iterator, Limit=1000)
        assert len(records["Records"]) == 6, "every write above is on the stream"
        answers.append(records)
        return answers

    def comparable(answer: Any, run: int) -> Any:
        if isinstance(answer, dict):
            return {
                k: comparable(v, run)
                for k, v in answer.items()
                # moto's SizeBytes estimate counts the characters of the record's time
                if k not in ("ResponseMetadata", "NextShardIterator", "eventID", "SizeBytes")
            }
        if isinstance(answer, list):
            return [comparable(v, run) for v in answer]
        if hasattr(answer, "timestamp"):  # the stream record's time: when it was written
            return "a time"
        if isinstance(answer, str) and answer.isdigit() and len(answer) > 15:
            return "a sequence number"
        if isinstance(answer, str):
            return answer.replace(f"run{run}-", "")  # each run's own keys
        return answer

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        assert getattr(handler.serialized, "_parley_plain_answers", False), "not installed"
    plain = calls(1)
    with _unpatched(DynamoHandler), _unpatched(DynamoDBStreamsHandler):
        reference = calls(2)

    assert comparable(plain, 1) == comparable(reference, 2)
    assert plain[-1]["Records"][0]["dynamodb"]["NewImage"]["b"] == {"B": b"\x00\xff zstd"}


def test_wire_refuses_what_it_cannot_write() -> None:
    from decimal import Decimal

    from devtools.moto_dynamodb import _wire

    with pytest.raises(TypeError):
        _wire({"a": [Decimal(1)]})
    assert _wire({"a": None, "b": [b"\x00"]}) == {"b": ["AA=="]}
