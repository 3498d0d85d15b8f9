"""GET /api/v1/analytics through the real handler, over a lake written per the lake contract
(tests/lake_support.py): every metric and groupBy key, the filters, tenant isolation, bad
parameters."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from functions.analytics.app import handler
from shared import services
from shared.settings import get_settings
from tests import lake_support
from tests.lake_support import row
from tests.support import api_event, invoke

DAY1 = datetime(2026, 1, 14, 9, 30, tzinfo=UTC)
DAY2 = datetime(2026, 1, 15, 17, 5, tzinfo=UTC)
RANGE = {"since": "2026-01-01", "until": "2026-01-31"}


def insights(score: float, done: bool) -> str:
    return json.dumps({"sentimentScore": score, "taskCompleted": done, "topics": []})


def forget_lake() -> None:
    get_settings.cache_clear()
    services.lake_store.cache_clear()
    services.cluster_store.cache_clear()
    services.cluster_service.cache_clear()


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(lake))
    forget_lake()
    name = f"t-{uuid.uuid4().hex[:8]}"
    rows = [
        # conv-a: production chat on day 1, gpt-4o, insights positive and done
        row(
            name,
            "a1",
            "hi",
            conversation_id="conv-a",
            ts=DAY1,
            input_tokens=100,
            output_tokens=0,
            metadata='{"plan": "pro", "customer": {"tier": "gold"}}',
            insights=insights(0.5, True),
        ),
        row(
            name,
            "a2",
            "hello",
            conversation_id="conv-a",
            ts=DAY1,
            role="assistant",
            input_tokens=0,
            output_tokens=1000,
            latency_ms=200,
            metadata='{"plan": "pro", "customer": {"tier": "gold"}}',
            insights=insights(0.5, True),
        ),
        # conv-b: staging call on day 2, an unpriced model, negative and not done
        row(
            name,
            "b1",
            "angry",
            conversation_id="conv-b",
            ts=DAY2,
            source="call",
            environment="staging",
            model="house-model",
            input_tokens=10,
            output_tokens=5,
            latency_ms=400,
            metadata='{"plan": "free"}',
            insights=insights(-0.7, False),
        ),
        # conv-c: production on day 2, no insights, deleted row and a newer version
        row(name, "c1", "old", conversation_id="conv-c", ts=DAY2, latency_ms=1000, version=1),
        row(name, "c1", "new", conversation_id="conv-c", ts=DAY2, latency_ms=600, version=2),
        row(name, "c2", "gone", conversation_id="conv-c", ts=DAY2, deleted=True),
        # outside the range
        row(name, "z1", "last year", conversation_id="conv-z", ts=datetime(2025, 6, 1, tzinfo=UTC)),
        # another tenant, same conversation ids
        row("intruder", "a1", "not yours", conversation_id="conv-a", ts=DAY1, input_tokens=9999),
    ]
    lake_support.write(lake, rows)
    yield name
    forget_lake()


def ask(tenant: str, **params: str) -> Any:
    event = api_event("GET", "/api/v1/analytics", tenant=tenant, query={**RANGE, **params})
    return invoke(handler, event)


def data(tenant: str, **params: str) -> list[dict[str, Any]]:
    answer = ask(tenant, **params)
    assert answer.status == 200, answer.body
    rows: list[dict[str, Any]] = answer.body["data"]
    return rows


def test_counts_messages_and_conversations_of_the_caller_only(tenant: str) -> None:
    assert data(tenant, metric="messages") == [{"value": 4}]
    assert data(tenant, metric="conversations") == [{"value": 3}]
    assert data("nobody-here", metric="messages") == [{"value": 0}]


def test_groups_by_day_and_environment_sorted(tenant: str) -> None:
    assert data(tenant, metric="messages", groupBy="day,environment") == [
        {"day": "2026-01-14", "environment": "production", "value": 2},
        {"day": "2026-01-15", "environment": "production", "value": 1},
        {"day": "2026-01-15", "environment": "staging", "value": 1},
    ]


def test_groups_by_hour_source_model_and_role(tenant: str) -> None:
    assert data(tenant, metric="conversations", groupBy="hour") == [
        {"hour": "2026-01-14T09:00:00Z", "value": 1},
        {"hour": "2026-01-15T17:00:00Z", "value": 2},
    ]
    assert data(tenant, metric="messages", groupBy="source") == [
        {"source": "call", "value": 1},
        {"source": "chat", "value": 3},
    ]
    assert [r["model"] for r in data(tenant, metric="messages", groupBy="model")] == [
        "gpt-4o",
        "house-model",
    ]
    assert data(tenant, metric="messages", groupBy="role") == [
        {"role": "assistant", "value": 1},
        {"role": "user", "value": 3},
    ]


def test_groups_by_a_metadata_key_nested_too(tenant: str) -> None:
    assert data(tenant, metric="conversations", groupBy="metadata.plan") == [
        {"metadata.plan": "free", "value": 1},
        {"metadata.plan": "pro", "value": 1},
        {"metadata.plan": None, "value": 1},
    ]
    tiers = data(tenant, metric="messages", groupBy="metadata.customer.tier")
    assert tiers == [
        {"metadata.customer.tier": "gold", "value": 2},
        {"metadata.customer.tier": None, "value": 2},
    ]


def test_tokens_and_cost(tenant: str) -> None:
    assert data(tenant, metric="tokens") == [
        {"value": 1115, "inputTokens": 110, "outputTokens": 1005}
    ]
    # gpt-4o: 100 input at $2.50/M + 1000 output at $10/M; house-model is unpriced.
    assert data(tenant, metric="cost") == [{"value": 0.01025, "unpricedTokens": 15}]


def test_sentiment_and_task_completion_over_conversations_with_insights(tenant: str) -> None:
    assert data(tenant, metric="sentiment") == [{"value": -0.1, "conversations": 2}]
    assert data(tenant, metric="taskCompleted", groupBy="environment") == [
        {"environment": "production", "value": 1.0, "conversations": 1},
        {"environment": "staging", "value": 0.0, "conversations": 1},
    ]


def test_rankings_of_conversations_slowest_and_most_expensive_first(tenant: str) -> None:
    slowest = data(tenant, metric="latencyMs", groupBy="conversationId", sort="-value")
    assert [(r["conversationId"], r["value"]) for r in slowest] == [
        ("conv-c", 600.0),  # the newest version of c1 only
        ("conv-b", 400.0),
        ("conv-a", 200.0),
    ]
    top = data(tenant, metric="cost", groupBy="conversationId", sort="-value", limit="2")
    assert top == [
        {"conversationId": "conv-a", "value": 0.01025, "unpricedTokens": 0},
        {"conversationId": "conv-b", "value": 0.0, "unpricedTokens": 15},  # ties: by id
    ]
    # Ascending: the least satisfied first; conversations without insights have no value.
    gloomiest = data(tenant, metric="sentiment", groupBy="conversationId", sort="value")
    assert [r["conversationId"] for r in gloomiest] == ["conv-b", "conv-a"]
    # `limit` without `sort` keeps the first groups in key order.
    assert data(tenant, metric="messages", groupBy="conversationId", limit="1") == [
        {"conversationId": "conv-a", "value": 2}
    ]


def test_latency_average_and_p95_of_the_newest_versions(tenant: str) -> None:
    [answer] = data(tenant, metric="latencyMs")
    assert answer["value"] == 400.0
    assert answer["messages"] == 3
    assert 560 <= answer["p95"] <= 600


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"environment": "staging"}, 1),
        ({"source": "chat"}, 3),
        ({"role": "assistant"}, 1),
        ({"model": "house-model"}, 1),
        ({"conversationId": "conv-a"}, 2),
        ({"metadata.plan": "pro"}, 2),
        ({"metadata.customer.tier": "gold", "environment": "production"}, 2),
        ({"since": "2026-01-15"}, 2),
        ({"until": "2026-01-14"}, 2),
        ({"since": "2026-01-15T17:05:00Z", "until": "2026-01-15T17:06:00Z"}, 2),
    ],
)
def test_filters(tenant: str, filters: dict[str, str], expected: int) -> None:
    assert data(tenant, metric="messages", **filters) == [{"value": expected}]


def test_a_value_that_looks_like_sql_is_only_a_value(tenant: str) -> None:
    assert data(tenant, metric="messages", model="x' OR 1=1 --") == [{"value": 0}]
    assert data(tenant, metric="messages", groupBy="metadata.a$b") == [
        {"metadata.a$b": None, "value": 4}
    ]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "metric"),
        ({"metric": "vibes"}, "metric"),
        ({"metric": "messages", "cluster": ""}, "cluster"),
        ({"metric": "messages", "groupBy": "day,colour"}, "groupBy"),
        ({"metric": "messages", "groupBy": "day,day"}, "groupBy"),
        ({"metric": "messages", "groupBy": "day,hour,role,model"}, "groupBy"),
        ({"metric": "messages", "groupBy": "metadata.a'b"}, "groupBy"),
        ({"metric": "messages", "since": "2026-02-30"}, "since"),
        ({"metric": "messages", "since": "2026-01-20", "until": "2026-01-10"}, "since"),
        ({"metric": "messages", "since": "2020-01-01", "until": "2026-01-01"}, "since"),
        ({"metric": "messages", "until": "yesterday"}, "until"),
        ({"metric": "messages", "source": "fax"}, "source"),
        ({"metric": "messages", "colour": "red"}, "colour"),
        ({"metric": "messages", "sort": "size"}, "sort"),
        ({"metric": "messages", "limit": "0"}, "limit"),
        ({"metric": "messages", "metadata.": "x"}, "metadata."),
        ({"metric": "messages", "model": ""}, "model"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    tenant: str, params: dict[str, str], named: str
) -> None:
    event = api_event("GET", "/api/v1/analytics", tenant=tenant, query=params or None)
    answer = invoke(handler, event)
    assert answer.status == 400, answer.body
    assert answer.body["error"]["code"] == "VALIDATION_ERROR"
    assert list(answer.body["error"]["details"]) == [named]


def test_cluster_groups_and_filters_once_clustered(tenant: str) -> None:
    before = data(tenant, metric="conversations", groupBy="cluster")
    assert before == [{"cluster": None, "value": 3}]  # no clusters yet: one null group
    services.cluster_service().recluster(tenant, now=DAY2)
    grouped = data(tenant, metric="conversations", groupBy="cluster")
    assert sum(r["value"] for r in grouped) == 3
    assert all(r["cluster"] is not None for r in grouped)
    one = grouped[0]["cluster"]
    assert data(tenant, metric="conversations", cluster=one) == [{"value": grouped[0]["value"]}]
    assert data(tenant, metric="conversations", cluster="cl_unknown") == [{"value": 0}]


def test_a_compacted_partition_and_its_newer_batch_files_count_each_record_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition of one compacted file is read as is (minus the tombstones compaction keeps);
    one with batch files too is deduplicated, the newest version winning."""
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKE_URI", str(lake))
    forget_lake()
    try:
        name = f"t-{uuid.uuid4().hex[:8]}"
        lake_support.write(
            lake,
            [
                row(name, "r1", "a", ts=DAY1, model="gpt-4o"),
                row(name, "r2", "kept tombstone", ts=DAY1, deleted=True, version=3),
                row(name, "r3", "b", ts=DAY2, model="gpt-4o"),
                row(name, "r4", "c", ts=DAY2, model="gpt-4o"),
            ],
            kind="compacted",
        )
        lake_support.write(
            lake,
            [
                row(name, "r3", "b again", ts=DAY2, model="gpt-4o-mini", version=2),
                row(name, "r4", "c removed", ts=DAY2, deleted=True, version=2),
            ],
        )
        assert data(name, metric="messages", groupBy="day,model") == [
            {"day": "2026-01-14", "model": "gpt-4o", "value": 1},
            {"day": "2026-01-15", "model": "gpt-4o-mini", "value": 1},
        ]
    finally:
        forget_lake()


def test_a_file_compacted_away_between_listing_and_reading_is_read_from_a_new_listing(
    tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction replaces batch files while a query runs (every 30 s in make dev): the rows
    are in the file that replaced them, so the query lists again instead of failing."""
    from shared.analytics import service
    from shared.lake.store import LakeStore

    expected = data(tenant, metric="messages")
    listings: list[int] = []
    real = service.files_in_range

    def listed_then_moved(store: LakeStore, *args: Any) -> Any:
        files = real(store, *args)
        listings.append(len(files))
        if len(listings) == 1:  # the first listing goes stale: each file gets a new name
            for file in files:
                path = Path(store.uri_of(file))
                path.rename(path.with_name(path.name.replace(".parquet", "-moved.parquet")))
        return files

    monkeypatch.setattr(service, "files_in_range", listed_then_moved)
    assert data(tenant, metric="messages") == expected
    assert len(listings) == 2


def test_files_that_keep_moving_are_a_retryable_503(
    tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.analytics import service
    from shared.lake.store import READ_ATTEMPTS, LakeFile, Partition

    gone = LakeFile(Partition(tenant, "2026-01-14"), "batch-gone.parquet", 1)
    calls: list[int] = []

    def stale(*_: Any) -> list[LakeFile]:
        calls.append(1)
        return [gone]

    monkeypatch.setattr(service, "files_in_range", stale)
    answer = ask(tenant, metric="messages")
    assert answer.status == 503, answer.body
    assert answer.body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert len(calls) == READ_ATTEMPTS
