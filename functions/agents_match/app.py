"""POST /api/v1/sdk/agents/match — the Converra SDK's agent lookup: never a match."""

from mangum import Mangum

from shared.http import Envelope, create_app
from shared.runs.sdk import AGENTS_MATCH_ROUTE

app = create_app([AGENTS_MATCH_ROUTE], Envelope.CONVERSATIONS)
handler = Mangum(app, lifespan="off")
