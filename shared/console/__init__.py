"""The web console: one static page (HTML, a vanilla JS module, CSS; no build step).

Served without the authorizer: the page holds no data. It keeps the pasted API key in
sessionStorage and sends it as the Bearer header of its data calls, which the authorizer checks
like any other call, so a key only ever sees its own tenant's conversations.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page talks only to its own origin; images in conversations may come from anywhere.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: https: http:; connect-src 'self'; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# Read once per cold start: a handful of small files.
_FILES = {
    path.name: (path.read_bytes(), _TYPES[path.suffix])
    for path in STATIC.iterdir()
    if path.suffix in _TYPES
}


def _file(name: str) -> Response:
    found = _FILES.get(name)
    if found is None:
        raise HTTPException(404)  # answered in the ingest API's envelope
    body, media_type = found
    return Response(body, 200, headers=_HEADERS, media_type=media_type)


async def page(request: Request) -> Response:
    return _file("index.html")


async def asset(request: Request) -> Response:
    return _file(request.path_params["file"])


def console_routes() -> list[Route]:
    return [
        Route("/", page, methods=["GET"]),
        Route("/console/{file}", asset, methods=["GET"]),
    ]
