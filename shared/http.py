"""The HTTP edge every function shares: request context, JSON responses, and the one place
where errors become responses, in the envelope of the function's API (ingest, conversations,
or OTLP's google.rpc.Status)."""

from __future__ import annotations

import gc

from shared.coldstart import loading

# Cold start: this module's imports (botocore, pydantic, Starlette: most of a function's) load
# with the garbage collector paused, then frozen out of its reach (shared.coldstart): ~5% of a
# cold start. A function's app.py that loads all its modules that way makes this a no-op.
with loading():
    import time
    import uuid
    from collections.abc import Awaitable, Callable
    from dataclasses import dataclass
    from datetime import UTC, datetime, timedelta
    from typing import Any

    import pydantic_core
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from shared import logs
    from shared.dynamo import Deadline
    from shared.errors import ApiError, QuotaExceeded, Unauthorized
    from shared.fields import format_timestamp
    from shared.settings import get_settings

log = logs.get_logger("http")

# Time kept back from the Lambda's remaining time so a 503 can still be sent.
_RESPONSE_MARGIN_SECONDS = 1.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    tenant_id: str | None
    received_at: str
    # The same moment in nanoseconds: orders the records of requests received in one millisecond.
    received_ns: int
    deadline: Deadline
    plan: str | None = None  # the key's usage plan (the authorizer's context): its daily quota

    @property
    def tenant(self) -> str:
        if not self.tenant_id:  # the authorizer did not run: fail closed
            raise Unauthorized()
        return self.tenant_id


def request_context(request: Request) -> RequestContext:
    event = request.scope.get("aws.event") or {}
    gateway = event.get("requestContext") or {}
    authorizer = gateway.get("authorizer") or {}
    lambda_context = request.scope.get("aws.context")
    budget = get_settings().storage_deadline_seconds
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        remaining = lambda_context.get_remaining_time_in_millis() / 1000
        budget = min(budget, max(remaining - _RESPONSE_MARGIN_SECONDS, 0.1))
    now_ns = time.time_ns()
    return RequestContext(
        request_id=gateway.get("requestId") or str(uuid.uuid4()),
        tenant_id=authorizer.get("tenantId") or None,
        received_at=format_timestamp(_EPOCH + timedelta(microseconds=now_ns // 1000)),
        received_ns=now_ns,
        deadline=Deadline(budget),
        plan=authorizer.get("plan") or None,
    )


@dataclass(frozen=True)
class ErrorAnswer:
    """What any error becomes, before it is rendered in its API's own body format."""

    status: int
    message: str
    retryable: bool
    headers: dict[str, str]
    errors: list[dict[str, Any]]  # the ingest API's per-event list
    details: dict[str, str] | None  # the conversations API's field → problem map
    quota: dict[str, int] | None = None  # a daily quota that was reached (shared/quotas.py)


def error_answer(exc: Exception, request_id: str) -> ErrorAnswer:
    """Status, message and headers for any exception; unexpected ones are logged, not shown."""
    headers = {"X-Request-Id": request_id}
    details: dict[str, str] | None = None
    if isinstance(exc, ApiError):
        status, message, retryable = exc.status, exc.message, exc.retryable
        details = exc.details
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, HTTPException):
        status, message, retryable = exc.status_code, str(exc.detail), False
    else:
        log.exception("unexpected error")
        status, retryable = 500, True
        message = "Internal error; retry, and quote the requestId if it persists"
    errors = [e.as_dict() for e in exc.errors] if isinstance(exc, ApiError) else []
    quota = exc.quota if isinstance(exc, QuotaExceeded) else None
    return ErrorAnswer(status, message, retryable, headers, errors, details, quota)


def ingest_error(request: Request | None, answer: ErrorAnswer, request_id: str) -> Response:
    """The ingest API's envelope: {"success": false, "count": 0, "message", "requestId",
    "retryable", "errors"?}."""
    body: dict[str, Any] = {
        "success": False,
        "count": 0,
        "message": answer.message,
        "requestId": request_id,
        "retryable": answer.retryable,
    }
    if answer.errors:
        body["errors"] = answer.errors
    if answer.quota:
        body["quota"] = answer.quota
    return JSONBody(body, status_code=answer.status, headers=answer.headers)


# The conversations API's error codes (docs/conversations-api.md), by HTTP status.
_CONVERSATION_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "NOT_FOUND",  # a known path with another method: no such route either
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "VALIDATION_ERROR",  # a Content-Encoding other than gzip
    422: "UNPROCESSABLE_CONTENT",  # an Idempotency-Key reused with another body
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def conversations_error(request: Request | None, answer: ErrorAnswer, request_id: str) -> Response:
    """The conversations API's envelope: {"error": {"code", "message", "details"?}}."""
    error: dict[str, Any] = {
        "code": "QUOTA_EXCEEDED"
        if answer.quota
        else _CONVERSATION_CODES.get(answer.status, "INTERNAL"),
        "message": answer.message,
    }
    if answer.details:
        error["details"] = answer.details
    if answer.quota:
        error["quota"] = answer.quota
    return JSONBody({"error": error}, status_code=answer.status, headers=answer.headers)


# The media types of OTLP/HTTP (the OTel functions answer in the one the request used).
OTLP_PROTOBUF = "application/x-protobuf"
OTLP_JSON = "application/json"
# gRPC codes of the OTLP routes' Status body (google/rpc/code.proto), by HTTP status.
_GRPC_CODES = {
    400: 3,  # INVALID_ARGUMENT
    401: 16,  # UNAUTHENTICATED
    403: 7,  # PERMISSION_DENIED
    404: 5,  # NOT_FOUND
    405: 12,  # UNIMPLEMENTED: a method the route does not serve
    409: 6,  # ALREADY_EXISTS
    413: 8,  # RESOURCE_EXHAUSTED
    415: 3,  # INVALID_ARGUMENT
    429: 8,  # RESOURCE_EXHAUSTED
    503: 14,  # UNAVAILABLE
}
_GRPC_INTERNAL = 13


def otlp_error(request: Request | None, answer: ErrorAnswer, request_id: str) -> Response:
    """The OTLP/HTTP envelope: a google.rpc.Status {code, message}, in protobuf when the request
    was protobuf, else in JSON (the spec: an answer uses the request's encoding)."""
    code = _GRPC_CODES.get(answer.status, _GRPC_INTERNAL)
    message = f"{answer.message} (requestId {request_id})"
    content_type = request.headers.get("content-type") if request is not None else None
    if (content_type or "").split(";", 1)[0].strip().lower() == OTLP_PROTOBUF:
        # Imported here: only the OTel functions answer OTLP, and only they load protobuf.
        from google.rpc import status_pb2

        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return Response(
            body, status_code=answer.status, media_type=OTLP_PROTOBUF, headers=answer.headers
        )
    return JSONBody(
        {"code": code, "message": message}, status_code=answer.status, headers=answer.headers
    )


# Renders an error in an API's body format: ingest_error, conversations_error, otlp_error.
ErrorRenderer = Callable[[Request | None, ErrorAnswer, str], Response]


def error_response(
    exc: Exception,
    request_id: str,
    request: Request | None = None,
    render: ErrorRenderer = ingest_error,
) -> Response:
    return render(request, error_answer(exc, request_id), request_id)


Endpoint = Callable[[Request, RequestContext], Awaitable[Response]]


def route(
    path: str, endpoint: Endpoint, methods: list[str], render: ErrorRenderer = ingest_error
) -> Route:
    """A Starlette route whose endpoint gets the request context and whose errors are rendered
    by its API's `render` (ingest_error, conversations_error, otlp_error)."""

    async def run(request: Request) -> Response:
        ctx = request_context(request)
        logs.request_id_var.set(ctx.request_id)
        logs.tenant_id_var.set(ctx.tenant_id)
        try:
            response = await endpoint(request, ctx)
        except Exception as exc:
            response = error_response(exc, ctx.request_id, request, render)
        else:
            response.headers.setdefault("X-Request-Id", ctx.request_id)  # unless endpoint set it
        allow_console(request, response)
        return response

    return Route(path, run, methods=methods)


def conversations_route(path: str, endpoint: Endpoint, method: str) -> Route:
    """A route of the conversations API (conversations, runs, sdk, webhooks): its envelope."""
    return route(path, endpoint, [method], conversations_error)


def allow_console(request: Request, response: Response) -> None:
    """Lets the web console's browser read this answer (CORS) when the console is served from
    another origin (settings.console_origin): that origin only, never a wildcard, and no
    credentials (the key travels as a Bearer header, not a cookie). Preflights never reach a
    function: API Gateway answers them (template.yaml, the conversations API's `Cors`)."""
    origin = get_settings().console_origin
    if origin is None:
        return
    response.headers.add_vary_header("Origin")  # caches must not hand one origin's answer on
    if request.headers.get("origin") == origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        # The console shows "try again in N s" from it; not a CORS-safelisted header.
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"


def create_app(routes: list[Route], render: ErrorRenderer = ingest_error) -> Starlette:
    logs.configure(get_settings().log_level)

    async def http_error(request: Request, exc: Exception) -> Response:
        response = error_response(exc, request_context(request).request_id, request, render)
        allow_console(request, response)
        return response

    # Unknown paths and methods inside a function answer in the same envelope.
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    # Everything the cold start allocated lives as long as the process: keep the garbage
    # collector from rescanning it on every request (a large fan-out triggers many collections).
    gc.freeze()
    return app


def prefers_partial_success(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().lower() == "partial-success" for p in prefer.split(","))
