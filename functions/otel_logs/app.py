"""POST /v1/logs — OpenTelemetry (OTLP/HTTP, protobuf or JSON)."""

from mangum import Mangum

from shared.http import create_app
from shared.otel.endpoints import LOGS_ROUTE

app = create_app([LOGS_ROUTE])
handler = Mangum(app, lifespan="off")
