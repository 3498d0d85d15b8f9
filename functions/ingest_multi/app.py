"""POST /v1/ingest/multi — every event typed by `messageType`."""

from shared.coldstart import loading

# Every module loads with the garbage collector paused, then frozen (shared/coldstart.py).
with loading():
    from shared.gateway import lambda_handler
    from shared.http import create_app
    from shared.ingest.endpoints import ingest_route
    from shared.ingest.policies import MULTI

    app = create_app([ingest_route(MULTI)])
    handler = lambda_handler(app)
