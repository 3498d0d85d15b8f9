"""The runs routes: the SDK's bodies → conversations domain objects → the
conversations service → `{"data": ...}` answers. Errors answer in the conversations API's
envelope (the SDK reads only the status of a failure)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.body import parse_json
from shared.conversations.endpoints import answer_once, charged, keyed_write
from shared.conversations.models import validate_body
from shared.conversations.service import check_id
from shared.conversations.views import conversation_view, created_view
from shared.http import JSONBody, RequestContext, conversations_route
from shared.idempotency import Answer
from shared.runs.models import RunAppend, RunCreate
from shared.runs.views import data, run_insights

BASE_PATH = "/api/v1/runs"
APPEND_PATH = BASE_PATH + "/{id}/messages"


async def create_run(request: Request, ctx: RequestContext) -> Response:
    write = await keyed_write(request, ctx, BASE_PATH)

    def work() -> Answer:
        run = validate_body(RunCreate, parse_json(write.body))
        new = run.to_new_conversation()
        with charged(ctx, write, len(new.messages)):
            created = services.conversation_service().create(
                ctx.tenant, new, ctx.deadline, key=write.create_key()
            )
        return Answer(200, data(created_view(created.conversation)))

    return answer_once(write, ctx, work)


async def append_run(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    write = await keyed_write(request, ctx, APPEND_PATH.format(id=conversation_id))

    def work() -> Answer:
        append = validate_body(RunAppend, parse_json(write.body))
        with charged(ctx, write, len(append.messages)):
            conversation = services.conversation_service().append(
                ctx.tenant,
                conversation_id,
                list(append.messages),
                ctx.deadline,
                status=append.status,
                metadata=append.metadata,
                attributes=append.attributes(),
                request_key=write.request_key,
            )
        return Answer(200, data(conversation_view(conversation)))

    return answer_once(write, ctx, work)


async def get_run_insights(request: Request, ctx: RequestContext) -> Response:
    conversation_id = check_id(request.path_params["id"])
    conversation = services.conversation_service().summary(
        ctx.tenant, conversation_id, ctx.deadline
    )
    return JSONBody(data(run_insights(conversation)))


CREATE_ROUTE = conversations_route(BASE_PATH, create_run, "POST")
APPEND_ROUTE = conversations_route(APPEND_PATH, append_run, "POST")
INSIGHTS_ROUTE = conversations_route(BASE_PATH + "/{id}/insights", get_run_insights, "GET")
