"""POST /api/v1/webhooks — register an endpoint (the secret is shown once)."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.webhooks.endpoints import CREATE_ROUTE

app = create_app([CREATE_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
