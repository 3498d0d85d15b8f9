"""GET /v1/conversations/{conversationId}/records — read back what was stored."""

from mangum import Mangum

from shared.endpoints import RECORDS_ROUTE
from shared.http import create_app

app = create_app([RECORDS_ROUTE])
handler = Mangum(app, lifespan="off")
