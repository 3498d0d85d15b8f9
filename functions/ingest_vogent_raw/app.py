"""POST /v1/ingest/vogent-raw — raw voice transcripts, fanned out per utterance (seed 003)."""

from mangum import Mangum

from shared.endpoints import ingest_route
from shared.http import create_app
from shared.vogent import VOGENT_RAW

app = create_app([ingest_route(VOGENT_RAW)])
handler = Mangum(app, lifespan="off")
