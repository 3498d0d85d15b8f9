"""Analytics: the request's SQL run by DuckDB over the caller's lake partitions only (the
tenant's folder, the dates in range), on a local folder (make dev) or S3 (httpfs)."""

from __future__ import annotations

from typing import Any

from shared import query
from shared.analytics import queries
from shared.analytics.models import MAX_ROWS, AnalyticsRequest
from shared.lake.query import files_in_range
from shared.lake.store import LakeStore, connect, load_httpfs
from shared.settings import get_settings


def run(store: LakeStore, tenant: str, request: AnalyticsRequest) -> list[dict[str, Any]]:
    """The answer's rows: one per group, sorted by the group keys."""
    last_day = request.until.isoformat()[:10]  # `until` is exclusive: its day may hold rows
    files = files_in_range(store, tenant, request.since.isoformat()[:10], last_day)
    members_sql = None
    if request.uses_clusters:
        from shared.clusters.reads import members_sql_for
        from shared.clusters.store import ClusterStore

        members_sql = members_sql_for(ClusterStore(store), tenant)
    built = queries.build(request, store, files, MAX_ROWS, members_sql)
    con = connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if store.is_s3:
            load_httpfs(con, get_settings())
        found = con.execute(built.sql, built.params).fetchall()
    finally:
        con.close()
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
