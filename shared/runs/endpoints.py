"""The runs routes: the SDK's bodies → conversations domain objects → the
conversations service → `{"data": ...}` answers. Errors answer in the conversations API's
envelope (the SDK reads only the status of a failure)."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.body import parse_json, read_body
from shared.conversations.models import validate_body
from shared.conversations.service import check_id
from shared.conversations.views import conversation_view, created_view
from shared.http import JSONBody, RequestContext, conversations_route
from shared.runs.models import RunAppend, RunCreate
from shared.runs.responses import data, run_insights

BASE_PATH = "/api/v1/runs"


async def _validated[M: BaseModel](request: Request, model: type[M]) -> M:
    body = await read_body(request.stream(), request.headers.get("content-encoding"))
    return validate_body(model, parse_json(body))


async def create_run(request: Request, ctx: RequestContext) -> Response:
    run = await _validated(request, RunCreate)
    created = services.conversation_service().create(
        ctx.tenant, run.to_new_conversation(), ctx.deadline
    )
    return JSONBody(data(created_view(created.conversation)))


async def append_run(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    append = await _validated(request, RunAppend)
    conversation = services.conversation_service().append(
        ctx.tenant,
        conversation_id,
        list(append.messages),
        ctx.deadline,
        status=append.status,
        metadata=append.metadata,
        attributes=append.attributes(),
    )
    return JSONBody(data(conversation_view(conversation)))


async def get_run_insights(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    conversation = services.conversation_service().summary(
        ctx.tenant, conversation_id, ctx.deadline
    )
    return JSONBody(data(run_insights(conversation)))


CREATE_ROUTE = conversations_route(BASE_PATH, create_run, "POST")
APPEND_ROUTE = conversations_route(BASE_PATH + "/{id}/messages", append_run, "POST")
INSIGHTS_ROUTE = conversations_route(BASE_PATH + "/{id}/insights", get_run_insights, "GET")
