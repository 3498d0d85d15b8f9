"""The endpoints the functions mount: thin glue from HTTP to the services."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared import query, services
from shared.body import read_body
from shared.errors import BadRequest
from shared.fields import ENVIRONMENTS, MAX_ID_CHARS
from shared.http import JSONBody, RequestContext, prefers_partial_success, route
from shared.ingest.records import MESSAGE_SOURCES
from shared.ingest.service import IngestPolicy, RequestInfo
from shared.ingest.summaries import SummaryFilter
from shared.ingest.views import summary_view


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


async def list_records(request: Request, ctx: RequestContext) -> Response:
    conversation_id = request.path_params["conversationId"]
    if not 1 <= len(conversation_id) <= MAX_ID_CHARS:  # no record can live under it
        raise BadRequest(f"conversationId must be 1 to {MAX_ID_CHARS} characters")
    records, next_cursor = services.record_store().list(
        ctx.tenant,
        conversation_id,
        limit=query.integer(request, "limit", default=100, low=1, high=1000),
        cursor=query.cursor(request),
        environment=query.choice(request, "environment", ENVIRONMENTS),
        deadline=ctx.deadline,
    )
    return JSONBody({"data": records, "nextCursor": next_cursor})


# `:path`: a conversation id may hold an encoded "/" (Mangum hands Starlette a decoded path).
RECORDS_ROUTE = route("/v1/conversations/{conversationId:path}/records", list_records, ["GET"])


async def list_conversations(request: Request, ctx: RequestContext) -> Response:
    filters = SummaryFilter(
        environment=query.choice(request, "environment", ENVIRONMENTS),
        source=query.choice(request, "source", MESSAGE_SOURCES),
        since=query.date(request, "since"),
        until=query.date(request, "until"),
    )
    summaries, next_cursor = services.summary_store().list(
        ctx.tenant,
        filters,
        limit=query.integer(request, "limit", default=50, low=1, high=200),
        cursor=query.cursor(request),
        deadline=ctx.deadline,
    )
    return JSONBody({"data": [summary_view(s) for s in summaries], "nextCursor": next_cursor})


CONVERSATIONS_ROUTE = route("/v1/conversations", list_conversations, ["GET"])
