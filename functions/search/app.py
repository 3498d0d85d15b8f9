"""GET /v1/search — full-text search over the tenant's conversations (docs/search.md)."""

from mangum import Mangum

from shared.http import create_app
from shared.search.endpoints import SEARCH_ROUTE

app = create_app([SEARCH_ROUTE])
handler = Mangum(app, lifespan="off")
