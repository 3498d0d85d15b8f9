"""The analytics request parser and SQL builder, without a lake: what the SQL text may hold
(never a request value) and how parameters are passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from shared.analytics import queries
from shared.analytics.models import DEFAULT_DAYS, METRICS, AnalyticsRequest, parse_request
from shared.errors import BadRequest
from shared.lake.store import LakeStore

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
STORE = LakeStore("unused-lake")  # no file is listed: the SQL reads the lake's empty relation


def parse(**params: str) -> AnalyticsRequest:
    return parse_request(list(params.items()), NOW)


def test_defaults_to_the_last_30_days_until_now() -> None:
    request = parse(metric="messages")
    assert request.until == NOW
    assert request.since == NOW - timedelta(days=DEFAULT_DAYS)
    assert request.group_by == ()


def test_a_date_until_includes_its_whole_day() -> None:
    request = parse(metric="messages", since="2026-03-01", until="2026-03-02")
    assert request.since == datetime(2026, 3, 1, tzinfo=UTC)
    assert request.until == datetime(2026, 3, 3, tzinfo=UTC)


def test_filters_and_metadata_are_kept_as_values() -> None:
    request = parse(metric="tokens", model="gpt-4o", **{"metadata.customer.tier": "gold"})
    assert request.exact == (("model", "gpt-4o"),)
    assert request.metadata == (("customer.tier", "gold"),)


def test_group_keys_keep_their_order() -> None:
    assert parse(metric="messages", groupBy="model, day").group_by == ("model", "day")


def test_cluster_is_a_group_key_and_a_filter() -> None:
    request = parse(metric="messages", groupBy="cluster", cluster="cl_1")
    assert request.group_by == ("cluster",)
    assert request.cluster == "cl_1"
    assert request.uses_clusters
    assert not parse(metric="messages").uses_clusters


def test_the_cluster_filter_is_a_parameter_never_sql_text() -> None:
    request = parse(metric="messages", groupBy="cluster", cluster="x' OR 1=1 --")
    members = "SELECT 'c' AS conversation_id, 'cl_1' AS cluster_id"
    built = queries.build(request, STORE, [], 10, members)
    assert "OR 1=1" not in built.sql
    with duckdb.connect() as con:
        assert con.execute(built.sql, built.params).fetchall() == []


def test_json_path_quotes_each_key() -> None:
    assert queries.json_path("customer.tier") == '$."customer"."tier"'
    assert queries.json_path("a-b$") == '$."a-b$"'


@pytest.mark.parametrize("metric", METRICS)
def test_no_request_value_is_in_the_sql_text(metric: str) -> None:
    marker = "zz-marker"
    request = parse(
        metric=metric,
        groupBy=f"day,metadata.{marker}",
        model=marker,
        conversationId=marker,
        **{f"metadata.{marker}": marker},
    )
    built = queries.build(request, STORE, [], max_rows=10)
    assert marker not in built.sql
    assert marker in str(built.params.values())
    assert built.group_columns == ("g0", "g1")
    assert built.value_columns[0] == "value"


@pytest.mark.parametrize("metric", METRICS)
def test_every_metric_runs_on_an_empty_lake(metric: str) -> None:
    """No file: the lake's empty relation; without groupBy one row, with it none."""
    con = duckdb.connect()
    alone = queries.build(parse(metric=metric), STORE, [], max_rows=10)
    [row] = con.execute(alone.sql, alone.params).fetchall()
    assert len(row) == len(alone.value_columns)
    grouped = queries.build(parse(metric=metric, groupBy="day,model"), STORE, [], max_rows=10)
    assert con.execute(grouped.sql, grouped.params).fetchall() == []


def test_the_sql_asks_one_row_more_than_the_bound() -> None:
    built = queries.build(parse(metric="messages", groupBy="hour"), STORE, [], max_rows=10)
    limit = built.sql.rpartition("LIMIT ")[2].removeprefix("$")
    assert built.params[limit] == 11


def test_a_limit_asks_exactly_that_many_rows_as_a_parameter() -> None:
    request = parse(metric="cost", groupBy="conversationId", sort="-value", limit="7")
    assert (request.sort, request.limit) == ("-value", 7)
    built = queries.build(request, STORE, [], max_rows=10)
    limit = built.sql.rpartition("LIMIT ")[2].removeprefix("$")
    assert built.params[limit] == 7
    assert "ORDER BY value DESC NULLS LAST, g0 NULLS LAST" in built.sql


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"sort": "cost"}, "sort"),
        ({"sort": "value", "limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_sort_or_limit_is_a_400_naming_it(params: dict[str, str], named: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse(metric="messages", groupBy="conversationId", **params)
    assert list(raised.value.details or {}) == [named]


def test_cost_passes_the_price_table_as_parameters() -> None:
    built = queries.build(parse(metric="cost"), STORE, [], max_rows=10)
    assert "gpt-4o" not in built.sql
    assert "gpt-4o" in built.params.values()
    assert built.value_columns == ("value", "unpricedTokens")
