"""GET /api/v1/conversations/{id}/insights — a conversation's insights."""

from mangum import Mangum

from shared.conversations.endpoints import INSIGHTS_ROUTE
from shared.http import conversations_error, create_app

app = create_app([INSIGHTS_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
