"""GET /api/v1/conversations — list a tenant's conversations, newest first."""

from mangum import Mangum

from shared.conversations.endpoints import LIST_ROUTE
from shared.http import conversations_error, create_app

app = create_app([LIST_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
