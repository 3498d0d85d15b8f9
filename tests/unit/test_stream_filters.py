"""The local stream runner's emulation of Lambda event filtering and of the template's stream
mappings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from devtools.streams import (
    FilterError,
    check_pattern,
    lambda_record,
    matches,
    stream_mappings,
    wanted,
)
from devtools.template import load_template


def record(event_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> Any:
    images: dict[str, Any] = {}
    if new is not None:
        images["NewImage"] = new
    if old is not None:
        images["OldImage"] = old
    return {"eventName": event_name, "dynamodb": {"SequenceNumber": "1", **images}}


META = {"sk": {"S": "META"}, "analyzable": {"BOOL": True}}


def test_exact_values_nested_objects_and_alternatives() -> None:
    pattern = {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"sk": {"S": ["META"]}}}}
    assert matches(pattern, record("INSERT", META))
    assert matches(pattern, record("MODIFY", META))
    assert not matches(pattern, record("REMOVE", META))
    assert not matches(pattern, record("INSERT", {"sk": {"S": "MSG#0000"}}))
    assert not matches(pattern, record("INSERT", None))  # no NewImage at all


def test_values_match_by_type() -> None:
    assert matches({"a": [True]}, {"a": True})
    assert not matches({"a": [True]}, {"a": "true"})
    assert not matches({"a": [1]}, {"a": True})
    assert matches({"a": [None]}, {"a": None})
    assert not matches({"a": [None]}, {})


def test_exists() -> None:
    assert matches({"a": [{"exists": False}]}, {"b": 1})
    assert not matches({"a": [{"exists": False}]}, {"a": {"S": "x"}})
    assert matches({"a": [{"exists": True}]}, {"a": 1})
    assert not matches({"a": [{"exists": True}]}, {})


def test_anything_but_and_prefix() -> None:
    rule = {"s": [{"anything-but": ["completed"]}]}
    assert matches(rule, {"s": "active"})
    assert not matches(rule, {"s": "completed"})
    assert not matches(rule, {})  # a missing field matches nothing but `exists: false`
    assert matches({"s": [{"prefix": "conv_"}]}, {"s": "conv_123"})
    assert not matches({"s": [{"prefix": "conv_"}]}, {"s": "agent_1"})


@pytest.mark.parametrize(
    "pattern",
    [
        {},
        {"a": "x"},
        {"a": []},
        {"a": [{"numeric": [">", 1]}]},
        {"a": [{"exists": True, "prefix": "x"}]},
        {"a": {"b": [{"suffix": ".png"}]}},
    ],
)
def test_unsupported_patterns_are_refused(pattern: Any) -> None:
    with pytest.raises(FilterError):
        check_pattern(pattern)


def test_template_mappings_are_read_with_their_settings() -> None:
    (mapping,) = (
        m for m in stream_mappings(load_template()) if "Insights" in m.function.logical_id
    )
    assert mapping.table == "ConversationsTable"
    assert mapping.batch_size == 10
    assert mapping.report_item_failures
    assert mapping.max_retries == 5
    assert len(mapping.patterns) == 2


def test_insights_filter_passes_only_transitions_to_completed() -> None:
    (mapping,) = (
        m for m in stream_mappings(load_template()) if "Insights" in m.function.logical_id
    )
    completed = {**META, "status": {"S": "completed"}}
    active = {**META, "status": {"S": "active"}}
    analyzed = {**completed, "insights": {"S": "{}"}}
    unlinked = {"sk": {"S": "META"}, "status": {"S": "completed"}}

    assert wanted(mapping, record("INSERT", completed))
    assert wanted(mapping, record("MODIFY", completed, active))
    assert not wanted(mapping, record("INSERT", active))
    assert not wanted(mapping, record("MODIFY", active, active))
    assert not wanted(mapping, record("MODIFY", analyzed, completed))  # the worker's own write
    assert not wanted(mapping, record("MODIFY", analyzed, active))
    assert not wanted(mapping, record("INSERT", unlinked))
    assert not wanted(mapping, record("REMOVE", None, completed))


def test_records_take_lambdas_json_shape() -> None:
    raw = {
        "eventID": "e1",
        "eventName": "INSERT",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2025, 1, 20, 14, 30, tzinfo=UTC),
            "Keys": {"pk": {"S": "a"}},
            "SequenceNumber": "100",
        },
    }
    converted = lambda_record(raw, "arn:aws:dynamodb:us-east-1:1:table/t/stream/x")
    assert converted["eventSourceARN"] == "arn:aws:dynamodb:us-east-1:1:table/t/stream/x"
    assert converted["dynamodb"]["ApproximateCreationDateTime"] == 1737383400
    json.dumps(converted)  # what a handler gets is plain JSON
