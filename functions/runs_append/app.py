"""POST /api/v1/runs/{id}/messages — append to a run (the Converra SDK)."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.runs.endpoints import APPEND_ROUTE

app = create_app([APPEND_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
