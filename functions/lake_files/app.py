"""GET /v1/lake/files — the caller's analytics lake files, for `parley export --format parquet`."""

from mangum import Mangum

from shared.http import create_app
from shared.lake.endpoints import LAKE_FILES_ROUTE

app = create_app([LAKE_FILES_ROUTE])
handler = Mangum(app, lifespan="off")
