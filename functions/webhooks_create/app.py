"""POST /api/v1/webhooks — register an endpoint (the secret is shown once)."""

from mangum import Mangum

from shared.http import Envelope, create_app
from shared.webhooks.endpoints import CREATE_ROUTE

app = create_app([CREATE_ROUTE], Envelope.CONVERSATIONS)
handler = Mangum(app, lifespan="off")
