"""POST /api/v1/runs — create a run (a conversation) as the Converra SDK sends it."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.runs.endpoints import CREATE_ROUTE

app = create_app([CREATE_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
