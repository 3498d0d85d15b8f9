"""POST /v1/ingest/vogent-raw — raw voice transcripts, fanned out per utterance."""

from shared.coldstart import loading

# Every module loads with the garbage collector paused, then frozen (shared/coldstart.py).
with loading():
    from shared.gateway import lambda_handler
    from shared.http import create_app
    from shared.ingest.endpoints import ingest_route
    from shared.ingest.vogent import VOGENT_RAW

    app = create_app([ingest_route(VOGENT_RAW)])
    handler = lambda_handler(app)
