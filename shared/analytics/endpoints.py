"""GET /api/v1/analytics: thin glue from HTTP to shared.analytics.service."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.analytics import service
from shared.analytics.models import parse_request
from shared.analytics.views import row_view
from shared.http import JSONBody, RequestContext, conversations_route


async def analytics(request: Request, ctx: RequestContext) -> Response:
    parsed = parse_request(request.query_params.multi_items(), datetime.now(UTC))
    # CPU-bound (DuckDB): off the event loop, so the dev server keeps answering.
    rows = await run_in_threadpool(service.run, services.lake_store(), ctx.tenant, parsed)
    return JSONBody({"data": [row_view(r) for r in rows]})


ANALYTICS_ROUTE = conversations_route("/api/v1/analytics", analytics, "GET")
