"""GET /v1/conversations — a tenant's ingested conversations, newest activity first."""

from mangum import Mangum

from shared.http import create_app
from shared.ingest.read_endpoints import CONVERSATIONS_ROUTE

app = create_app([CONVERSATIONS_ROUTE])
handler = Mangum(app, lifespan="off")
