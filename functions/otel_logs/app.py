"""POST /v1/logs — OpenTelemetry (OTLP/HTTP, protobuf or JSON)."""

from shared.gateway import lambda_handler
from shared.http import create_app, otlp_error
from shared.otel.endpoints import LOGS_ROUTE

app = create_app([LOGS_ROUTE], otlp_error)
handler = lambda_handler(app)
