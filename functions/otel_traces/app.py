"""POST /v1/traces — OpenTelemetry (OTLP/HTTP, protobuf or JSON)."""

from shared.gateway import lambda_handler
from shared.http import create_app, otlp_error
from shared.otel.endpoints import TRACES_ROUTE

app = create_app([TRACES_ROUTE], otlp_error)
handler = lambda_handler(app)
