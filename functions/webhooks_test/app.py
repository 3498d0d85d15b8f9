"""POST /api/v1/webhooks/{id}/test — queue a signed webhook.test event for the endpoint."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.webhooks.endpoints import TEST_ROUTE

app = create_app([TEST_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
