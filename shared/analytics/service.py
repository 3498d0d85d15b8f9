"""Analytics: the request's SQL run by DuckDB over the caller's lake partitions only (the
tenant's folder, the dates in range), on a local folder (make dev) or S3 (httpfs)."""

from __future__ import annotations

from typing import Any

from shared import query
from shared.analytics import queries
from shared.analytics.models import MAX_ROWS, AnalyticsRequest
from shared.lake.query import files_in_range
from shared.lake.store import LakeStore, connect, load_httpfs, read_listed
from shared.settings import get_settings


def run(store: LakeStore, tenant: str, request: AnalyticsRequest) -> list[dict[str, Any]]:
    """The answer's rows: one per group, sorted by the group keys."""
    members_sql = None
    if request.uses_clusters:
        from shared.clusters.reads import members_sql_for
        from shared.clusters.store import ClusterStore

        members_sql = members_sql_for(ClusterStore(store), tenant)
    built, found = read_listed(lambda: _query(store, tenant, request, members_sql))
    if len(found) > MAX_ROWS:
        raise query.invalid(
            "groupBy", f"gives more than {MAX_ROWS} groups; narrow the range or the keys"
        )
    width = len(built.group_columns)
    return [
        {
            **dict(zip(request.group_by, row[:width], strict=True)),
            **dict(zip(built.value_columns, row[width:], strict=True)),
        }
        for row in found
    ]


def _query(
    store: LakeStore, tenant: str, request: AnalyticsRequest, members_sql: str | None
) -> tuple[queries.Query, list[Any]]:
    """The files in range listed, then read: run again by `read_listed` if compaction moved one."""
    last_day = request.until.isoformat()[:10]  # `until` is exclusive: its day may hold rows
    files = files_in_range(store, tenant, request.since.isoformat()[:10], last_day)
    built = queries.build(request, store, files, MAX_ROWS, members_sql)
    con = connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if store.is_s3:
            load_httpfs(con, get_settings())
        return built, con.execute(built.sql, built.params).fetchall()
    finally:
        con.close()
