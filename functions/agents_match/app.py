"""POST /api/v1/sdk/agents/match — the Converra SDK's agent lookup: never a match."""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.runs.sdk_endpoints import AGENTS_MATCH_ROUTE

app = create_app([AGENTS_MATCH_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
