"""POST /v1/metrics — OpenTelemetry (OTLP/HTTP, protobuf or JSON)."""

from shared.gateway import lambda_handler
from shared.http import create_app, otlp_error
from shared.otel.endpoints import METRICS_ROUTE

app = create_app([METRICS_ROUTE], otlp_error)
handler = lambda_handler(app)
