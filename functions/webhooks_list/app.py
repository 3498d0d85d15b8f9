"""GET /api/v1/webhooks — the account's endpoints (no secrets)."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.webhooks.endpoints import LIST_ROUTE

app = create_app([LIST_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
