"""GET /api/v1/sdk/config — the Converra SDK's configuration: capture on, nothing to optimize."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.runs.sdk_endpoints import SDK_CONFIG_ROUTE

app = create_app([SDK_CONFIG_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
