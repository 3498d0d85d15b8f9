"""The routes the conversations functions mount: HTTP → domain objects → service → views."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shared import cursors, query, services
from shared.body import parse_json, read_body
from shared.conversations import limits
from shared.conversations.content import parse_content
from shared.conversations.models import (
    STATUSES,
    AppendRequest,
    CreateRequest,
    ListFilters,
    NewConversation,
    validate_body,
)
from shared.conversations.service import check_id, request_hash
from shared.conversations.views import (
    BASE_PATH,
    conversation_view,
    created_view,
    insights_view,
    list_view,
)
from shared.errors import BadRequest
from shared.fields import MAX_ID_CHARS
from shared.http import JSONBody, RequestContext, conversations_route

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 10_000  # deeper pages: follow nextCursor (an offset is read and skipped)


async def _json_body(request: Request) -> Any:
    return parse_json(await read_body(request.stream(), request.headers.get("content-encoding")))


# --- create ------------------------------------------------------------------------------------


def new_conversation(body: CreateRequest) -> NewConversation:
    """The create request as a domain object; a 400 names what is missing."""
    missing = {}
    if body.promptId is None and body.promptName is None:
        missing["promptId"] = "Required field"
    if body.content is None and body.status != "active":
        missing["content"] = "Required field unless status is 'active'"
    if missing:
        raise BadRequest("Invalid request body", details=missing)
    messages = []
    metadata: dict[str, Any] = {}
    if body.content is not None:
        limits.check_content_field(body.content)
        if body.content.strip() or body.status != "active":
            parsed = parse_content(body.content)
            messages = parsed.messages
            metadata = dict(parsed.metadata or {})
    if not messages and body.status != "active":
        problem = "Holds no messages: only an 'active' conversation may start empty"
        raise BadRequest("Invalid request body", details={"content": problem})
    metadata |= body.metadata or {}  # the request's own metadata wins over the content's
    return NewConversation(
        messages=messages,
        status=body.status,
        prompt_id=body.promptId,
        prompt_name=body.promptName,
        llm_model=body.llmModel,
        company_name=body.companyName,
        agent_id=body.agentId,
        agent_name=body.agentName,
        system_prompt_id=body.systemPromptId,
        user_id=body.userId,
        session_id=body.sessionId,
        title=body.title,
        trace_id=body.traceId,
        parent_trace_id=body.parentTraceId,
        tool_definitions=body.toolDefinitions,
        metadata=metadata,
    )


async def create(request: Request, ctx: RequestContext) -> Response:
    raw = await _json_body(request)
    body = validate_body(CreateRequest, raw)
    created = services.conversation_service().create(
        ctx.tenant,
        new_conversation(body),
        ctx.deadline,
        idempotency_key=body.idempotencyKey,
        body_hash=request_hash(raw),
    )
    return JSONBody(created_view(created.conversation))


# --- append ------------------------------------------------------------------------------------


async def append(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    body = validate_body(AppendRequest, await _json_body(request))
    conversation = services.conversation_service().append(
        ctx.tenant,
        conversation_id,
        body.messages,
        ctx.deadline,
        status=body.status,
        metadata=body.metadata,
    )
    return JSONBody(conversation_view(conversation))


# --- reads -------------------------------------------------------------------------------------


def _cursor_scope(tenant_id: str, filters: ListFilters) -> tuple[str, ...]:
    """What a list cursor is bound to: this tenant's list under these same filters."""
    insights = "" if filters.has_insights is None else str(filters.has_insights)
    return ("conversations", tenant_id, filters.prompt_id or "", filters.status or "", insights)


async def get_conversation(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    include = query.boolean(request, "includeInsights")
    conversation = services.conversation_service().get(ctx.tenant, conversation_id, ctx.deadline)
    return JSONBody(conversation_view(conversation, include_insights=include is not False))


async def get_insights(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    insights = services.conversation_service().insights(ctx.tenant, conversation_id, ctx.deadline)
    return JSONBody(insights_view(conversation_id, insights))


async def list_conversations(request: Request, ctx: RequestContext) -> Response:
    filters = ListFilters(
        query.text(request, "promptId", max_chars=MAX_ID_CHARS),
        query.choice(request, "status", STATUSES),
        query.boolean(request, "hasInsights"),
    )
    limit = query.integer(request, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    offset = query.integer(request, "offset", default=0, low=0, high=MAX_OFFSET)
    scope = _cursor_scope(ctx.tenant, filters)
    cursor = query.cursor(request)
    # The cursor holds the id the previous page ended with.
    after = cursors.open_cursor(cursor, scope, 1)[0] if cursor is not None else None
    page = services.conversation_service().list(
        ctx.tenant, filters, ctx.deadline, limit=limit, offset=offset, after=after
    )
    next_cursor = cursors.seal([page.next_after], scope) if page.next_after else None
    return JSONBody(list_view(page, limit=limit, offset=offset, cursor=next_cursor))


CREATE_ROUTE = conversations_route(BASE_PATH, create, "POST")
LIST_ROUTE = conversations_route(BASE_PATH, list_conversations, "GET")
GET_ROUTE = conversations_route(BASE_PATH + "/{id}", get_conversation, "GET")
APPEND_ROUTE = conversations_route(BASE_PATH + "/{id}/messages", append, "POST")
INSIGHTS_ROUTE = conversations_route(BASE_PATH + "/{id}/insights", get_insights, "GET")
