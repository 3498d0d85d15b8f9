"""GET /v1/conversations/{conversationId}/records — read back what was stored."""

from mangum import Mangum

from shared.http import create_app
from shared.ingest.read_endpoints import RECORDS_ROUTE

app = create_app([RECORDS_ROUTE])
handler = Mangum(app, lifespan="off")
