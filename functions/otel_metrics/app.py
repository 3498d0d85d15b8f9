"""POST /v1/metrics — OpenTelemetry (OTLP/HTTP, protobuf or JSON)."""

from mangum import Mangum

from shared.http import create_app
from shared.otel.endpoints import METRICS_ROUTE

app = create_app([METRICS_ROUTE])
handler = Mangum(app, lifespan="off")
