"""The ingest endpoint the ingest functions mount: thin glue from HTTP to the service.

The API's read routes (records, conversations) are in shared.ingest.read_endpoints: the ingest
functions' cold start does not import what only those read (summaries, query parameters).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared import services
from shared.body import read_body
from shared.http import JSONBody, RequestContext, prefers_partial_success, route
from shared.ingest.service import IngestPolicy, RequestInfo


def ingest_route(policy: IngestPolicy) -> Route:
    async def ingest(request: Request, ctx: RequestContext) -> Response:
        info = RequestInfo(
            ctx.tenant,
            ctx.request_id,
            ctx.received_at,
            ctx.received_ns,
            idempotency_key=request.headers.get("idempotency-key"),
            plan=ctx.plan,
        )
        body = await read_body(request.stream(), request.headers.get("content-encoding"))
        partial = prefers_partial_success(request)
        outcome = services.ingest_service().ingest(
            policy, body, info, ctx.deadline, partial=partial
        )
        # A replayed answer carries the first request's id: header and body always agree.
        headers = {"X-Request-Id": outcome.body["requestId"]}
        if outcome.replayed:  # tells a resending client (e.g. `parley ingest`) nothing was new
            headers["Idempotent-Replayed"] = "true"
        if partial:
            headers["Preference-Applied"] = "partial-success"
        return JSONBody(outcome.body, status_code=outcome.status, headers=headers)

    return route(policy.route, ingest, ["POST"])
