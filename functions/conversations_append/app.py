"""POST /api/v1/conversations/{id}/messages — append turns."""

from mangum import Mangum

from shared.conversations.endpoints import APPEND_ROUTE
from shared.http import conversations_error, create_app

app = create_app([APPEND_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
