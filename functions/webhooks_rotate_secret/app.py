"""POST /api/v1/webhooks/{id}/rotate-secret — a new signing secret; the old one keeps signing
beside it for 24 hours."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.webhooks.endpoints import ROTATE_SECRET_ROUTE

app = create_app([ROTATE_SECRET_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
