"""GET /api/v1/conversations/{id}/insights — a conversation's insights (seed 004)."""

from mangum import Mangum

from shared.conversations.endpoints import INSIGHTS_ROUTE
from shared.http import Envelope, create_app

app = create_app([INSIGHTS_ROUTE], Envelope.CONVERSATIONS)
handler = Mangum(app, lifespan="off")
