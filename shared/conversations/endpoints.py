"""The routes the conversations functions mount: HTTP → domain objects → service → views."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shared import cursors, query, services
from shared.body import parse_json, read_body
from shared.conversations import limits
from shared.conversations.content import parse_content
from shared.conversations.models import (
    EMPTY_START_STATUS,
    STATUSES,
    AppendRequest,
    CreateRequest,
    ListFilters,
    NewConversation,
    check_has_messages,
    may_start_empty,
    validate_body,
)
from shared.conversations.service import CreateKey, check_id, request_hash
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
from shared.idempotency import Answer, key_scope, run_once

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 10_000  # deeper pages: follow nextCursor (an offset is read and skipped)


@dataclass(frozen=True)
class KeyedWrite:
    """A write request that may carry an `Idempotency-Key`: its body as received
    (decompressed) and, when keyed, where the key lives (tenant, route, key)."""

    body: bytes
    scope: str | None
    body_hash: str

    @property
    def request_key(self) -> str | None:
        """Names this request across resends: its key and its body (a key reused with another
        body after its 24 hours is a new request)."""
        return None if self.scope is None else f"{self.scope}\x1f{self.body_hash}"

    def create_key(self) -> CreateKey | None:
        return None if self.scope is None else CreateKey(self.scope, self.body_hash, header=True)


async def keyed_write(request: Request, ctx: RequestContext, path: str) -> KeyedWrite:
    """`path`: the request's own path (the conversation's id in it), so a key is per tenant and
    per route and, on an append, per conversation: the same key and body sent to two
    conversations are two requests."""
    key = request.headers.get("idempotency-key")
    scope = None if key is None else key_scope(ctx.tenant, path, key)
    body = await read_body(request.stream(), request.headers.get("content-encoding"))
    return KeyedWrite(body, scope, hashlib.sha256(body).hexdigest())


def charged(ctx: RequestContext, write: KeyedWrite, messages: int) -> AbstractContextManager[None]:
    """Charges a write's messages and body bytes to the tenant's daily quota (429 when it is
    used up); a write that fails is not charged (shared/quotas.py)."""
    return services.usage_counter().charge(ctx.tenant, ctx.plan, messages, len(write.body))


def answer_once(write: KeyedWrite, ctx: RequestContext, work: Callable[[], Answer]) -> JSONBody:
    """`work()`'s answer, or with an `Idempotency-Key` the first answer under that key (the
    draft's semantics, as on `/v1/ingest`: same key and body replays it, another body is 422, a
    request still in flight is 409 with Retry-After)."""
    if write.scope is None:
        answer = work()
    else:
        store = services.idempotency_store()
        answer, _ = run_once(
            store, write.scope, write.body_hash, ctx.request_id, ctx.deadline, work
        )
    return JSONBody(answer.body, status_code=answer.status)


# --- create ------------------------------------------------------------------------------------


def new_conversation(body: CreateRequest) -> NewConversation:
    """The create request as a domain object; a 400 names what is missing."""
    missing = {}
    if body.promptId is None and body.promptName is None:
        missing["promptId"] = "Required field"
    if body.content is None and not may_start_empty(body.status):
        missing["content"] = f"Required field unless status is '{EMPTY_START_STATUS}'"
    if missing:
        raise BadRequest("Invalid request body", details=missing)
    messages = []
    metadata: dict[str, Any] = {}
    if body.content is not None:
        limits.check_content_field(body.content)
        # Blank content is "no messages yet", when the status allows that; else it is parsed
        # (and refused as holding no turns).
        if body.content.strip() or not may_start_empty(body.status):
            parsed = parse_content(body.content)
            messages = parsed.messages
            metadata = dict(parsed.metadata or {})
    check_has_messages(messages, body.status, "content", "conversation")
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
    write = await keyed_write(request, ctx, BASE_PATH)

    def work() -> Answer:
        raw = parse_json(write.body)
        body = validate_body(CreateRequest, raw)
        # The body's idempotencyKey (this API's own, 409 on reuse) or else the header's.
        key = write.create_key()
        if body.idempotencyKey is not None:
            key = CreateKey(body.idempotencyKey, request_hash(raw))
        new = new_conversation(body)
        with charged(ctx, write, len(new.messages)):
            created = services.conversation_service().create(ctx.tenant, new, ctx.deadline, key=key)
        return Answer(200, created_view(created.conversation))

    return answer_once(write, ctx, work)


# --- append ------------------------------------------------------------------------------------


async def append(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    write = await keyed_write(request, ctx, APPEND_PATH.format(id=conversation_id))

    def work() -> Answer:
        body = validate_body(AppendRequest, parse_json(write.body))
        with charged(ctx, write, len(body.messages)):
            conversation = services.conversation_service().append(
                ctx.tenant,
                conversation_id,
                body.messages,
                ctx.deadline,
                status=body.status,
                metadata=body.metadata,
                request_key=write.request_key,
            )
        return Answer(200, conversation_view(conversation))

    return answer_once(write, ctx, work)


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


APPEND_PATH = BASE_PATH + "/{id}/messages"
CREATE_ROUTE = conversations_route(BASE_PATH, create, "POST")
LIST_ROUTE = conversations_route(BASE_PATH, list_conversations, "GET")
GET_ROUTE = conversations_route(BASE_PATH + "/{id}", get_conversation, "GET")
APPEND_ROUTE = conversations_route(APPEND_PATH, append, "POST")
INSIGHTS_ROUTE = conversations_route(BASE_PATH + "/{id}/insights", get_insights, "GET")
