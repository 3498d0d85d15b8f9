"""What `GET /api/v1/clusters[/{id}]` reads: the tenant's model and, per cluster, its members
in the time range (size, trend, samples), counted by DuckDB over the members files.

A member is in the range when its conversation's latest message is; the trend compares the
members whose latest message is in the 7 days before `until` (default now) with the 7 days
before those (docs/clusters.md "Trend")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from shared import cursors
from shared.clusters.models import ClustersRequest
from shared.clusters.store import Cluster, ClusterStore, member_files_sql
from shared.errors import NotFound, StorageUnavailable
from shared.lake.store import connect, load_httpfs
from shared.settings import get_settings

SAMPLES = 3
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
_FAR_PAST = datetime(1970, 1, 1)
_FAR_FUTURE = datetime(9999, 1, 1)


@dataclass(frozen=True)
class ClusterSummary:
    cluster: Cluster
    size: int
    last_7_days: int
    previous_7_days: int
    samples: list[str]


@dataclass(frozen=True)
class MembersPage:
    summary: ClusterSummary
    members: list[dict[str, Any]]
    next_cursor: str | None


def _naive(at: datetime | None, default: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at is not None else default


def _run(store: ClusterStore, sql: str, params: dict[str, Any]) -> list[Any]:
    con = connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if store.lake.is_s3:
            load_httpfs(con, get_settings())
        return con.execute(sql, params).fetchall()
    except duckdb.IOException as exc:  # a file gone between listing and reading: retry
        raise StorageUnavailable(f"clusters: reading members: {exc}") from exc
    finally:
        con.close()


def _summaries(
    store: ClusterStore,
    tenant: str,
    clusters: list[Cluster],
    request: ClustersRequest,
    now: datetime,
) -> list[ClusterSummary]:
    if not clusters:
        return []
    uris = [store.uri(tenant, n) for n in store.member_files(tenant)]
    members = member_files_sql(uris, "conversation_id, cluster_id, last_ts")
    anchor = _naive(request.until, _naive(now, _FAR_FUTURE))  # the trend's end
    in_range = "last_ts >= $since AND last_ts < $until"
    sql = (
        f"SELECT cluster_id, count(*) FILTER (WHERE {in_range}), "
        "count(*) FILTER (WHERE last_ts >= $week AND last_ts < $anchor), "
        "count(*) FILTER (WHERE last_ts >= $fortnight AND last_ts < $week), "
        f"list(conversation_id ORDER BY last_ts DESC, conversation_id) FILTER (WHERE {in_range}) "
        f"FROM ({members}) WHERE cluster_id IN (SELECT unnest($ids)) GROUP BY cluster_id"
    )
    rows = _run(
        store,
        sql,
        {
            "since": _naive(request.since, _FAR_PAST),
            "until": _naive(request.until, _FAR_FUTURE),
            "anchor": anchor,
            "week": anchor - timedelta(days=7),
            "fortnight": anchor - timedelta(days=14),
            "ids": [c.id for c in clusters],
        },
    )
    by_id = {c.id: c for c in clusters}
    return [
        ClusterSummary(by_id[row[0]], row[1], row[2], row[3], list(row[4] or [])[:SAMPLES])
        for row in rows
    ]


def members_sql_for(store: ClusterStore, tenant: str) -> str:
    """SQL of the tenant's (conversation_id, cluster_id) for the clusters of its current
    model (analytics groups and filters by it)."""
    model = store.load_model(tenant)
    uris = [store.uri(tenant, n) for n in store.member_files(tenant)] if model else []
    members = member_files_sql(uris, "conversation_id, cluster_id")
    known = ", ".join("'" + c.id.replace("'", "''") + "'" for c in model.clusters) if model else ""
    where = f" WHERE cluster_id IN ({known})" if known else " WHERE false"
    return f"SELECT conversation_id, cluster_id FROM ({members}){where}"


def list_clusters(
    store: ClusterStore, tenant: str, request: ClustersRequest, now: datetime
) -> list[ClusterSummary]:
    """The clusters with members in the range, largest first (ties by id)."""
    model = store.load_model(tenant)
    clusters = model.clusters if model else []
    if request.environment is not None:
        clusters = [c for c in clusters if c.environment == request.environment]
    found = [s for s in _summaries(store, tenant, clusters, request, now) if s.size]
    return sorted(found, key=lambda s: (-s.size, s.cluster.id))


def cluster_members(
    store: ClusterStore, tenant: str, cluster_id: str, request: ClustersRequest, now: datetime
) -> MembersPage:
    """One cluster and a page of its members in the range, latest activity first."""
    model = store.load_model(tenant)
    cluster = next((c for c in model.clusters if c.id == cluster_id), None) if model else None
    if cluster is None:
        raise NotFound("Cluster not found")
    summaries = _summaries(store, tenant, [cluster], request, now)
    summary = summaries[0] if summaries else ClusterSummary(cluster, 0, 0, 0, [])
    scope = (
        "clusters",
        tenant,
        cluster_id,
        request.since.isoformat() if request.since else "",
        request.until.isoformat() if request.until else "",
    )
    after = ""
    after_id = ""
    if request.cursor is not None:
        after, after_id = cursors.open_cursor(request.cursor, scope, 2)
    uris = [store.uri(tenant, n) for n in store.member_files(tenant)]
    members = member_files_sql(uris, "conversation_id, environment, cluster_id, first_ts, last_ts")
    position = (
        " AND (last_ts < $after OR (last_ts = $after AND conversation_id > $after_id))"
        if after
        else ""
    )
    sql = (
        f"SELECT conversation_id, environment, strftime(first_ts, '{_TIME}'), "
        f"strftime(last_ts, '{_TIME}'), strftime(last_ts, '%Y-%m-%d %H:%M:%S.%f') "
        f"FROM ({members}) WHERE cluster_id = $id AND last_ts >= $since AND last_ts < $until"
        f"{position} ORDER BY last_ts DESC, conversation_id LIMIT $limit"
    )
    params: dict[str, Any] = {
        "id": cluster_id,
        "since": _naive(request.since, _FAR_PAST),
        "until": _naive(request.until, _FAR_FUTURE),
        "limit": request.limit + 1,
    }
    if after:
        params |= {"after": datetime.fromisoformat(after), "after_id": after_id}
    rows = _run(store, sql, params)
    page = rows[: request.limit]
    next_cursor = (
        cursors.seal([page[-1][4], page[-1][0]], scope) if len(rows) > request.limit else None
    )
    shown = [
        {
            "conversationId": row[0],
            "environment": row[1] or None,
            "firstMessageAt": row[2],
            "lastMessageAt": row[3],
        }
        for row in page
    ]
    return MembersPage(summary, shown, next_cursor)
