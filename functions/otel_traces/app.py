"""POST /v1/traces — OpenTelemetry (OTLP/HTTP, protobuf or JSON)."""

from mangum import Mangum

from shared.http import create_app
from shared.otel.endpoints import TRACES_ROUTE

app = create_app([TRACES_ROUTE])
handler = Mangum(app, lifespan="off")
