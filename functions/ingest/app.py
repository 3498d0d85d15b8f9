"""POST /v1/ingest — standard chat events and channel-specific events, mixed."""

from shared.gateway import lambda_handler
from shared.http import create_app
from shared.ingest.endpoints import ingest_route
from shared.ingest.policies import DIRECT

app = create_app([ingest_route(DIRECT)])
handler = lambda_handler(app)
