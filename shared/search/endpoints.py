"""GET /v1/search: thin glue from HTTP to shared.search.service."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shared.http import JSONBody, RequestContext, route
from shared.search import service
from shared.search.models import parse_request
from shared.search.views import hit_view


async def search(request: Request, ctx: RequestContext) -> Response:
    tenant = ctx.tenant
    query = parse_request(request.query_params.multi_items())
    # CPU-bound (tantivy, DuckDB): off the event loop, so the dev server keeps answering.
    page = await run_in_threadpool(service.search, tenant, query)
    return JSONBody(
        {
            "data": [hit_view(h, query.highlight_terms) for h in page.hits],
            "nextCursor": service.next_cursor(tenant, query, page),
        }
    )


SEARCH_ROUTE = route("/v1/search", search, ["GET"])
