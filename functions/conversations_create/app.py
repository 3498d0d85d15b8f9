"""POST /api/v1/conversations — create a conversation."""

from mangum import Mangum

from shared.conversations.endpoints import CREATE_ROUTE
from shared.http import conversations_error, create_app

app = create_app([CREATE_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
