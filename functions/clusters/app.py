"""GET /api/v1/clusters and /api/v1/clusters/{id} — the tenant's conversation clusters."""

from mangum import Mangum

from shared.clusters.endpoints import CLUSTERS_ROUTES
from shared.http import conversations_error, create_app

app = create_app(CLUSTERS_ROUTES, conversations_error)
handler = Mangum(app, lifespan="off")
