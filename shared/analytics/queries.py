"""The SQL of an analytics request: one DuckDB query over the tenant's deduplicated lake rows
(shared/lake/query.py). Every value from the request goes in as a named parameter; the SQL
text holds only column names, fixed expressions and the lake's own file paths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.analytics.models import AnalyticsRequest
from shared.analytics.prices import PRICES_PER_MILLION
from shared.lake.filters import METADATA_PREFIX
from shared.lake.query import live_rows_sql
from shared.lake.store import LakeFile, LakeStore

_BUCKETS = {
    "day": "strftime(ts, '%Y-%m-%d')",
    "hour": "strftime(ts, '%Y-%m-%dT%H:00:00Z')",
}
_COLUMNS = {
    "environment": "environment",
    "source": "source",
    "model": "model",
    "role": "role",
    "conversationId": "conversation_id",
}
_TOKENS = "coalesce(input_tokens, 0) + coalesce(output_tokens, 0)"


@dataclass
class _Params:
    """Named parameters ($p0, $p1, …) as the SQL is built."""

    values: dict[str, Any] = field(default_factory=dict)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def json_path(dotted: str) -> str:
    """`a.b` → `$."a"."b"`: each key quoted, so `-`, `$` and `@` stay part of the key."""
    return "$." + ".".join(f'"{part}"' for part in dotted.split("."))


def _metadata_value(path_param: str) -> str:
    # The writer stores a JSON object; anything else reads as no metadata, never an error.
    return f"CASE WHEN json_valid(metadata) THEN json_extract_string(metadata, {path_param}) END"


def _group_expression(key: str, params: _Params) -> str:
    if key == "cluster":
        return "cluster_id"
    if key in _BUCKETS:
        return _BUCKETS[key]
    if key in _COLUMNS:
        return _COLUMNS[key]
    return _metadata_value(params.add(json_path(key.removeprefix(METADATA_PREFIX))))


def _where(request: AnalyticsRequest, params: _Params) -> str:
    clauses = [
        f"ts >= {params.add(request.since.replace(tzinfo=None))}",
        f"ts < {params.add(request.until.replace(tzinfo=None))}",
    ]
    clauses += [f"{column} = {params.add(value)}" for column, value in request.exact]
    for key, value in request.metadata:
        clauses.append(f"{_metadata_value(params.add(json_path(key)))} = {params.add(value)}")
    if request.cluster is not None:
        clauses.append(f"cluster_id = {params.add(request.cluster)}")
    return " AND ".join(clauses)


def _insight(name: str, kind: str) -> str:
    return (
        f"CASE WHEN json_valid(insights) THEN TRY_CAST(json_extract_string(insights, "
        f"'$.{name}') AS {kind}) END"
    )


# Row metrics: metric → (an extra row condition, the aggregates by answer field, `value` first).
_PER_ROW: dict[str, tuple[str, dict[str, str]]] = {
    "messages": ("", {"value": "count(*)"}),
    "conversations": ("", {"value": "count(DISTINCT conversation_id)"}),
    "tokens": (
        "",
        {
            "value": f"coalesce(sum({_TOKENS}), 0)",
            "inputTokens": "coalesce(sum(input_tokens), 0)",
            "outputTokens": "coalesce(sum(output_tokens), 0)",
        },
    ),
    "latencyMs": (
        " AND latency_ms IS NOT NULL",
        {
            "value": "avg(latency_ms)",
            "p95": "quantile_cont(latency_ms, 0.95)",
            "messages": "count(latency_ms)",
        },
    ),
}
# Conversation metrics: one value per conversation (its insights), averaged over conversations.
_PER_CONVERSATION = {
    "sentiment": _insight("sentimentScore", "DOUBLE"),
    "taskCompleted": f"CAST({_insight('taskCompleted', 'BOOLEAN')} AS DOUBLE)",
}


@dataclass(frozen=True)
class Query:
    sql: str
    params: dict[str, Any]
    group_columns: tuple[str, ...]  # g0, g1, … in groupBy order
    value_columns: tuple[str, ...]


# The lake columns any metric, filter or group reads (never `text`: the widest column).
_READ = (
    "conversation_id",
    "source",
    "role",
    "environment",
    "model",
    "ts",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "metadata",
    "insights",
)


def build(
    request: AnalyticsRequest,
    store: LakeStore,
    files: Sequence[LakeFile],
    max_rows: int,
    members_sql: str | None = None,
) -> Query:
    """`members_sql`: the tenant's conversation → cluster_id rows, joined when the request
    groups or filters by cluster (a conversation in no cluster groups as null)."""
    params = _Params()
    prices = ""
    if request.metric == "cost":
        listed = ", ".join(
            f"({params.add(model)}, {params.add(i)}::DOUBLE, {params.add(o)}::DOUBLE)"
            for model, (i, o) in sorted(PRICES_PER_MILLION.items())
        )
        prices = f"prices(price_model, input_price, output_price) AS (VALUES {listed}), "
    groups = tuple(f"g{n}" for n in range(len(request.group_by)))
    selected = [
        f"{_group_expression(k, params)} AS {g}"
        for k, g in zip(request.group_by, groups, strict=True)
    ]
    extra = _PER_ROW[request.metric][0] if request.metric in _PER_ROW else ""
    where = _where(request, params) + extra
    source = live_rows_sql(store, files, _READ)
    if members_sql is not None:
        source = (
            f"SELECT rows.*, members.cluster_id FROM ({source}) rows "
            f"LEFT JOIN ({members_sql}) members USING (conversation_id)"
        )
    filtered = f"SELECT {', '.join([*selected, '*'])} FROM ({source}) WHERE {where}"
    keys = ", ".join(groups)
    group_clause = f" GROUP BY {keys}" if groups else ""
    lead = f"{keys}, " if groups else ""
    if request.metric in _PER_CONVERSATION:
        score = _PER_CONVERSATION[request.metric]
        per = (
            f"SELECT {lead}conversation_id, max({score}) AS score FROM filtered "
            f"WHERE insights IS NOT NULL GROUP BY {lead}conversation_id"
        )
        body = (
            f"SELECT {lead}avg(score) AS value, count(score) AS conversations "
            f"FROM ({per}) WHERE score IS NOT NULL{group_clause}"
        )
        values: tuple[str, ...] = ("value", "conversations")
    elif request.metric == "cost":
        body = (
            f"SELECT {lead}coalesce(sum((coalesce(input_tokens, 0) * input_price + "
            f"coalesce(output_tokens, 0) * output_price) / 1e6), 0) AS value, "
            f"coalesce(sum(CASE WHEN input_price IS NULL THEN {_TOKENS} ELSE 0 END), 0) "
            f"AS unpricedTokens FROM filtered LEFT JOIN prices ON model = price_model"
            f"{group_clause}"
        )
        values = ("value", "unpricedTokens")
    else:
        aggregates = _PER_ROW[request.metric][1]
        listed = ", ".join(f'{sql} AS "{name}"' for name, sql in aggregates.items())
        body = f"SELECT {lead}{listed} FROM filtered{group_clause}"
        values = tuple(aggregates)
    # A ranking first by value (ties, and rows without a value, in group-key order). Without
    # `limit`, one row more than the bound tells the service the groups were too many.
    ordering = [f"{g} NULLS LAST" for g in groups]
    if request.sort is not None:
        direction = "DESC" if request.sort.startswith("-") else "ASC"
        ordering.insert(0, f"value {direction} NULLS LAST")
    order = f" ORDER BY {', '.join(ordering)}" if groups else ""
    limit = params.add(max_rows + 1 if request.limit is None else request.limit)
    sql = f"WITH {prices}filtered AS ({filtered}) {body}{order} LIMIT {limit}"
    return Query(sql, params.values, groups, values)
