"""POST /api/v1/conversations/{id}/messages — append turns (seed 004)."""

from mangum import Mangum

from shared.conversations.endpoints import APPEND_ROUTE
from shared.http import Envelope, create_app

app = create_app([APPEND_ROUTE], Envelope.CONVERSATIONS)
handler = Mangum(app, lifespan="off")
