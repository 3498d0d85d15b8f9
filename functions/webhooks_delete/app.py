"""DELETE /api/v1/webhooks/{id}"""

from mangum import Mangum

from shared.http import conversations_error, create_app
from shared.webhooks.endpoints import DELETE_ROUTE

app = create_app([DELETE_ROUTE], conversations_error)
handler = Mangum(app, lifespan="off")
