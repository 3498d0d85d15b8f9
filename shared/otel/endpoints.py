"""The OTLP/HTTP routes: thin glue from HTTP to the OTel service.

Traces are stored (shared.otel.service). Metrics and logs are accepted, decoded (a malformed body
is still a 400) and deliberately discarded: Parley stores conversations, and the SDKs export
metrics every minute and log an error on every non-2xx answer. Errors are google.rpc.Status
bodies (shared.http.otlp_error), on these routes and on any other path or method their
functions are sent.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.body import read_body
from shared.http import RequestContext, otlp_error, route
from shared.logs import get_logger
from shared.otel.models import RequestFacts
from shared.otel.protocol import LOGS, METRICS, TRACES, Encoding, Signal, decode
from shared.otel.protocol import request_encoding as encoding_of
from shared.otel.views import answer, traces_answer

log = get_logger("otel")


async def _decoded(request: Request, signal: Signal) -> tuple[Any, Encoding, int]:
    """The decoded message, its encoding, and the body's size in bytes."""
    encoding = encoding_of(request.headers.get("content-type"))  # 415 before reading the body
    body = await read_body(request.stream(), request.headers.get("content-encoding"))
    return decode(signal, body, encoding), encoding, len(body)


async def export_traces(request: Request, ctx: RequestContext) -> Response:
    facts = RequestFacts(ctx.tenant, ctx.request_id, ctx.received_at)
    message, encoding, size = await _decoded(request, TRACES)
    service = services.otel_service()
    # Imported here like the service: the metrics and logs functions never load the mapping.
    from shared.otel.service import check_span_count

    # Each span sent and the body's bytes count against the tenant's daily quota (after the
    # request's own size limit: a 413 is not charged).
    spans = check_span_count(message)
    with services.usage_counter().charge(ctx.tenant, ctx.plan, spans, size):
        outcome = service.export_traces(message, facts, ctx.deadline)
    return traces_answer(outcome, encoding)


async def export_metrics(request: Request, ctx: RequestContext) -> Response:
    ctx.tenant  # noqa: B018 - fail closed when the authorizer did not run
    message, encoding, _ = await _decoded(request, METRICS)
    count = sum(
        len(scope.metrics)
        for resource in message.resource_metrics
        for scope in resource.scope_metrics
    )
    log.info("otel metrics discarded", extra={"metrics": count})
    return answer(METRICS.response(), encoding)


async def export_logs(request: Request, ctx: RequestContext) -> Response:
    ctx.tenant  # noqa: B018 - fail closed when the authorizer did not run
    message, encoding, _ = await _decoded(request, LOGS)
    count = sum(
        len(scope.log_records)
        for resource in message.resource_logs
        for scope in resource.scope_logs
    )
    log.info("otel logs discarded", extra={"log_records": count})
    return answer(LOGS.response(), encoding)


TRACES_ROUTE = route(TRACES.route, export_traces, ["POST"], render=otlp_error)
METRICS_ROUTE = route(METRICS.route, export_metrics, ["POST"], render=otlp_error)
LOGS_ROUTE = route(LOGS.route, export_logs, ["POST"], render=otlp_error)
