"""GET /api/v1/runs/{id}/insights — a run's insights or their lifecycle status (Converra SDK)."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.runs.endpoints import INSIGHTS_ROUTE

app = create_app([INSIGHTS_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
