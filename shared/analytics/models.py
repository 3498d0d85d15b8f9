"""An analytics request as the API takes it (`GET /api/v1/analytics`), checked with the one
query parser (shared/query.py): every problem is a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import query
from shared.lake import filters

METRICS = ("conversations", "messages", "tokens", "cost", "sentiment", "taskCompleted", "latencyMs")
# Group keys that are a column (or a bucket of `ts`); `metadata.<key>` groups by a metadata value.
GROUP_KEYS = ("day", "hour", "environment", "source", "model", "role", "cluster", "conversationId")
MAX_GROUP_KEYS = 3
DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year of partitions at most per query: bounded work per request
MAX_ROWS = 10_000  # more groups than this is no chart: the caller narrows the query
# `sort` orders the groups by their value (a ranking: the slowest or most expensive
# conversations with groupBy=conversationId); `limit` keeps the first rows of that order.
SORTS = ("value", "-value")
_OTHER_PARAMETERS = {"metric", "groupBy", "since", "until", "cluster", "sort", "limit"}


@dataclass(frozen=True)
class AnalyticsRequest:
    metric: str
    group_by: tuple[str, ...]  # as given: day, hour, environment, … or metadata.<key>
    since: datetime  # inclusive, UTC
    until: datetime  # exclusive, UTC
    exact: tuple[tuple[str, str], ...] = ()  # (lake column, value)
    metadata: tuple[tuple[str, str], ...] = ()  # (dotted key, value)
    sort: str | None = None  # `value` ascending, `-value` descending; None: by the group keys
    limit: int | None = None  # at most this many rows (the first of the order); None: all
    cluster: str | None = None  # only conversations of this cluster (GET /api/v1/clusters)

    @property
    def uses_clusters(self) -> bool:
        return self.cluster is not None or "cluster" in self.group_by


def _group_by(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(","))
    for key in keys:
        if key.startswith(filters.METADATA_PREFIX):
            if not filters.METADATA_KEY.fullmatch(key.removeprefix(filters.METADATA_PREFIX)):
                raise query.invalid(
                    "groupBy", f"has a metadata.<key> without {filters.KEY_RULE}", key
                )
        elif key not in GROUP_KEYS:
            allowed = ", ".join((*GROUP_KEYS, "metadata.<key>"))
            raise query.invalid("groupBy", f"must be a comma-separated list of {allowed}", key)
    if len(set(keys)) != len(keys):
        raise query.invalid("groupBy", "names a key more than once", raw)
    if len(keys) > MAX_GROUP_KEYS:
        raise query.invalid("groupBy", f"must have at most {MAX_GROUP_KEYS} keys", raw)
    return keys


def parse_request(params: Iterable[tuple[str, str]], now: datetime) -> AnalyticsRequest:
    """The request from its query parameters (name, value pairs, in order)."""
    values = filters.gather(params, _OTHER_PARAMETERS, "analytics")
    metric = query.choice(values, "metric", METRICS)
    if metric is None:
        raise query.invalid("metric", f"is required: one of {', '.join(METRICS)}")
    raw_group = query.text(values, "groupBy", max_chars=filters.MAX_FILTER_CHARS)
    group_by = _group_by(raw_group) if raw_group is not None else ()
    chosen = filters.filters(values)
    until = filters.instant(values, "until", end_of_day=True) or now
    since = filters.instant(values, "since", end_of_day=False) or until - timedelta(
        days=DEFAULT_DAYS
    )
    if since >= until:
        raise query.invalid("since", "must be before 'until'", values.get("since"))
    if until - since > timedelta(days=MAX_DAYS):
        raise query.invalid("since", f"must be at most {MAX_DAYS} days before 'until'")
    return AnalyticsRequest(
        metric=metric,
        group_by=group_by,
        since=since,
        until=until,
        exact=chosen.exact,
        metadata=chosen.metadata,
        sort=query.choice(values, "sort", SORTS),
        limit=(
            query.integer(values, "limit", default=MAX_ROWS, low=1, high=MAX_ROWS)
            if "limit" in values
            else None
        ),
        cluster=query.text(values, "cluster", max_chars=filters.MAX_FILTER_CHARS),
    )
