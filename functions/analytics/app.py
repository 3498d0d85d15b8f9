"""GET /api/v1/analytics — metrics over the tenant's lake, grouped for charts."""

from mangum import Mangum

from shared.analytics.endpoints import ANALYTICS_ROUTE
from shared.http import conversations_error, create_app

app = create_app([ANALYTICS_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
