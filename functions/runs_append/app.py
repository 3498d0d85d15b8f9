"""POST /api/v1/runs/{id}/messages — append to a run (the Converra SDK)."""

from mangum import Mangum

from shared.http import Envelope, create_app
from shared.runs.endpoints import APPEND_ROUTE

app = create_app([APPEND_ROUTE], Envelope.CONVERSATIONS)
handler = Mangum(app, lifespan="off")
