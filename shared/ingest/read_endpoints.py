"""The ingest API's read routes: a conversation's stored records, and the tenant's conversations
(their summaries). Each is its own function; the ingest functions do not import this module."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shared import query, services
from shared.errors import BadRequest
from shared.fields import ENVIRONMENTS, MAX_ID_CHARS
from shared.http import JSONBody, RequestContext, route
from shared.ingest.records import MESSAGE_SOURCES
from shared.ingest.summaries import SummaryFilter
from shared.ingest.views import summary_view


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
