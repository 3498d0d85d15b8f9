"""GET /api/v1/conversations/{id} — one conversation with its messages."""

from mangum import Mangum

from shared.conversations.endpoints import GET_ROUTE
from shared.http import conversations_error, create_app

app = create_app([GET_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
