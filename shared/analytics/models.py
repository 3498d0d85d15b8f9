"""An analytics request as the API takes it (`GET /api/v1/analytics`), checked with the one
query parser (shared/query.py): every problem is a 400 naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared import query
from shared.lake.models import SOURCES

METRICS = ("conversations", "messages", "tokens", "cost", "sentiment", "taskCompleted", "latencyMs")
# Group keys that are a column (or a bucket of `ts`); `metadata.<key>` groups by a metadata value.
GROUP_KEYS = ("day", "hour", "environment", "source", "model", "role")
METADATA_PREFIX = "metadata."
MAX_GROUP_KEYS = 3
DEFAULT_DAYS = 30
MAX_DAYS = 366  # a year of partitions at most per query: bounded work per request
MAX_ROWS = 10_000  # more groups than this is no chart: the caller narrows the query
MAX_FILTER_CHARS = 256

# Filter parameter → the lake column it matches exactly (the same filters as search).
EXACT_FILTERS = {
    "environment": "environment",
    "source": "source",
    "role": "role",
    "model": "model",
    "conversationId": "conversation_id",
}
_OTHER_PARAMETERS = {"metric", "groupBy", "since", "until"}
_METADATA_KEY = re.compile(r"[A-Za-z0-9_\-$@]+(\.[A-Za-z0-9_\-$@]+)*")
_KEY_RULE = "keys of letters, digits, _ - $ @, nested keys joined by dots"


@dataclass(frozen=True)
class AnalyticsRequest:
    metric: str
    group_by: tuple[str, ...]  # as given: day, hour, environment, … or metadata.<key>
    since: datetime  # inclusive, UTC
    until: datetime  # exclusive, UTC
    exact: tuple[tuple[str, str], ...] = ()  # (lake column, value)
    metadata: tuple[tuple[str, str], ...] = ()  # (dotted key, value)


def _metadata_key(name: str, key: str) -> str:
    if not _METADATA_KEY.fullmatch(key) or len(key) > MAX_FILTER_CHARS:
        raise query.invalid(name, f"must be metadata.<key> with {_KEY_RULE}")
    return key


def _group_by(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(","))
    for key in keys:
        if key == "cluster":
            raise query.invalid("groupBy", "cannot be cluster: clusters are not available yet")
        if key.startswith(METADATA_PREFIX):
            if not _METADATA_KEY.fullmatch(key.removeprefix(METADATA_PREFIX)):
                raise query.invalid("groupBy", f"has a metadata.<key> without {_KEY_RULE}", key)
        elif key not in GROUP_KEYS:
            allowed = ", ".join((*GROUP_KEYS, "metadata.<key>"))
            raise query.invalid("groupBy", f"must be a comma-separated list of {allowed}", key)
    if len(set(keys)) != len(keys):
        raise query.invalid("groupBy", "names a key more than once", raw)
    if len(keys) > MAX_GROUP_KEYS:
        raise query.invalid("groupBy", f"must have at most {MAX_GROUP_KEYS} keys", raw)
    return keys


def _instant(name: str, raw: str, end_of_day: bool) -> datetime:
    """A date (its midnight UTC; for `until`, the next midnight, so the day is included) or a
    UTC time."""
    start = query.instant(name, raw).replace(tzinfo=UTC)
    return start + timedelta(days=1) if end_of_day and len(raw) == 10 else start


def parse_request(params: Iterable[tuple[str, str]], now: datetime) -> AnalyticsRequest:
    """The request from its query parameters (name, value pairs, in order)."""
    values: dict[str, str] = {}
    for name, value in params:
        known = name in EXACT_FILTERS or name in _OTHER_PARAMETERS
        if not known and not name.startswith(METADATA_PREFIX):
            raise query.invalid(name, "is not a parameter of analytics")
        if name in values:
            raise query.invalid(name, "is given more than once")
        values[name] = value
    metric = query.choice(values, "metric", METRICS)
    if metric is None:
        raise query.invalid("metric", f"is required: one of {', '.join(METRICS)}")
    raw_group = query.text(values, "groupBy", max_chars=MAX_FILTER_CHARS)
    group_by = _group_by(raw_group) if raw_group is not None else ()
    query.choice(values, "source", SOURCES)
    exact = []
    for name, column in EXACT_FILTERS.items():
        wanted = query.text(values, name, max_chars=MAX_FILTER_CHARS)
        if wanted is not None:
            exact.append((column, wanted))
    metadata = []
    for name in values:
        if name.startswith(METADATA_PREFIX):
            key = _metadata_key(name, name.removeprefix(METADATA_PREFIX))
            wanted = query.text(values, name, max_chars=MAX_FILTER_CHARS)
            metadata.append((key, wanted or ""))
    until = _instant("until", values["until"], True) if "until" in values else now
    since = (
        _instant("since", values["since"], False)
        if "since" in values
        else until - timedelta(days=DEFAULT_DAYS)
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
        exact=tuple(exact),
        metadata=tuple(sorted(metadata)),
    )
