"""The routes the webhooks functions mount (`/api/v1/webhooks…`, conversations envelope)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.body import parse_json, read_body
from shared.conversations.models import validate_body
from shared.http import JSONBody, RequestContext, conversations_route
from shared.webhooks.models import CreateWebhook

BASE_PATH = "/api/v1/webhooks"


async def create(request: Request, ctx: RequestContext) -> Response:
    raw = parse_json(await read_body(request.stream(), request.headers.get("content-encoding")))
    body = validate_body(CreateWebhook, raw)
    webhook = services.webhook_service().create(ctx.tenant, body, ctx.deadline)
    return JSONBody(webhook.view(with_secret=True), status_code=201)


async def list_webhooks(request: Request, ctx: RequestContext) -> Response:
    webhooks = services.webhook_service().list(ctx.tenant, ctx.deadline)
    return JSONBody({"data": [w.view() for w in webhooks]})


async def delete(request: Request, ctx: RequestContext) -> Response:
    services.webhook_service().delete(ctx.tenant, request.path_params["id"], ctx.deadline)
    return Response(status_code=204)


async def send_test(request: Request, ctx: RequestContext) -> Response:
    webhook_id = request.path_params["id"]
    event = services.webhook_service().send_test(ctx.tenant, webhook_id, ctx.deadline)
    body = {"webhookId": webhook_id, "eventId": event.id, "type": event.type, "status": "queued"}
    return JSONBody(body, status_code=202)


async def rotate_secret(request: Request, ctx: RequestContext) -> Response:
    rotated = services.webhook_service().rotate_secret(
        ctx.tenant, request.path_params["id"], ctx.deadline
    )
    return JSONBody(rotated.view())


CREATE_ROUTE = conversations_route(BASE_PATH, create, "POST")
LIST_ROUTE = conversations_route(BASE_PATH, list_webhooks, "GET")
DELETE_ROUTE = conversations_route(BASE_PATH + "/{id}", delete, "DELETE")
TEST_ROUTE = conversations_route(BASE_PATH + "/{id}/test", send_test, "POST")
ROTATE_SECRET_ROUTE = conversations_route(BASE_PATH + "/{id}/rotate-secret", rotate_secret, "POST")
