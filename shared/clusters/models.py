"""`GET /api/v1/clusters[/{id}]` requests, read with the one query parser (shared/query.py):
an unknown or repeated parameter, a bad date or limit is a 400 naming it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared import query
from shared.lake import filters

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_LIST_PARAMETERS = ("environment", "since", "until")
_DETAIL_PARAMETERS = ("since", "until", "limit", "cursor")


@dataclass(frozen=True)
class ClustersRequest:
    environment: str | None = None
    since: datetime | None = None  # inclusive, UTC (naive datetimes are never used)
    until: datetime | None = None  # exclusive
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def _gather(
    params: Iterable[tuple[str, str]], allowed: tuple[str, ...], route: str
) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        if name not in allowed:
            raise query.invalid(name, f"is not a parameter of {route}")
        if name in values:
            raise query.invalid(name, "is given more than once")
        values[name] = value
    return values


def _range(values: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    since = filters.instant(values, "since", end_of_day=False)
    until = filters.instant(values, "until", end_of_day=True)
    if since is not None and until is not None and since >= until:
        raise query.invalid("since", "must be before 'until'", values.get("since"))
    return since, until


def parse_list(params: Iterable[tuple[str, str]]) -> ClustersRequest:
    values = _gather(params, _LIST_PARAMETERS, "clusters")
    environment = query.text(values, "environment", max_chars=filters.MAX_FILTER_CHARS)
    since, until = _range(values)
    return ClustersRequest(environment=environment, since=since, until=until)


def parse_detail(params: Iterable[tuple[str, str]]) -> ClustersRequest:
    values = _gather(params, _DETAIL_PARAMETERS, "a cluster")
    since, until = _range(values)
    limit = query.integer(values, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    return ClustersRequest(since=since, until=until, limit=limit, cursor=query.cursor(values))
