"""GET /api/v1/clusters and /api/v1/clusters/{id}: thin glue to shared.clusters.reads."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.clusters import reads
from shared.clusters.models import parse_detail, parse_list
from shared.clusters.views import cluster_view, members_view
from shared.http import JSONBody, RequestContext, conversations_route


async def list_clusters(request: Request, ctx: RequestContext) -> Response:
    parsed = parse_list(request.query_params.multi_items())
    found = await run_in_threadpool(
        reads.list_clusters, services.cluster_store(), ctx.tenant, parsed, datetime.now(UTC)
    )
    return JSONBody({"data": [cluster_view(s) for s in found]})


async def get_cluster(request: Request, ctx: RequestContext) -> Response:
    parsed = parse_detail(request.query_params.multi_items())
    page = await run_in_threadpool(
        reads.cluster_members,
        services.cluster_store(),
        ctx.tenant,
        request.path_params["id"],
        parsed,
        datetime.now(UTC),
    )
    return JSONBody(members_view(page, parsed.limit))


CLUSTERS_ROUTES = [
    conversations_route("/api/v1/clusters", list_clusters, "GET"),
    conversations_route("/api/v1/clusters/{id}", get_cluster, "GET"),
]
