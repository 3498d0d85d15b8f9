"""The web console: one static page (HTML, a vanilla JS module, CSS; no build step).

Served without the authorizer: the page holds no data. It keeps the pasted API key in
sessionStorage and sends it as the Bearer header of its data calls, which the authorizer checks
like any other call, so a key only ever sees its own tenant's conversations.

Deployed, the conversations API has a host of its own: the page is told its URL (the ingest
API's `conversationsApiUrl` stage variable, see template.yaml) in a meta tag, reads it through
CORS, and its Content-Security-Policy lets it connect there and nowhere else.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
# The page talks only to its own origin and the conversations API's (connect-src, added per
# page); images in conversations may come from anywhere.
_CSP = (
    "default-src 'self'; img-src 'self' data: https: http:; connect-src {connect}; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP.format(connect="'self'"),
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


_CONVERSATIONS_API = "{{conversations_api}}"  # the placeholder in index.html


def conversations_api_url(event: dict[str, Any]) -> str | None:
    """The conversations API's base URL from the stage variable; None (same origin as the
    page, as in `make dev` on one port) when unset or not an absolute http(s) URL."""
    url = str((event.get("stageVariables") or {}).get("conversationsApiUrl") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url.rstrip("/")


async def page(request: Request) -> Response:
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    # The page's own URL must end with "/" for its relative links (assets, the ingest API) to
    # stay under the stage: https://…/prod → https://…/prod/.
    public_path = str((event.get("requestContext") or {}).get("path") or "/")
    if not public_path.endswith("/"):
        location = public_path.rsplit("/", 1)[-1] + "/"  # relative: works behind any prefix
        return Response(status_code=308, headers={**_HEADERS, "Location": location})
    body, media_type = _FILES["index.html"]
    url = conversations_api_url(event)
    headers = dict(_HEADERS)
    if url is not None:
        parts = urlsplit(url)
        connect = f"'self' {parts.scheme}://{parts.netloc}"
        headers["Content-Security-Policy"] = _CSP.format(connect=connect)
    rendered = body.replace(_CONVERSATIONS_API.encode(), html.escape(url or "").encode())
    return Response(rendered, 200, headers=headers, media_type=media_type)


async def asset(request: Request) -> Response:
    name = request.path_params["file"]
    if name == "index.html":  # only ever rendered, by page()
        raise HTTPException(404)
    return _file(name)


def console_routes() -> list[Route]:
    return [
        Route("/", page, methods=["GET"]),
        Route("/console/{file}", asset, methods=["GET"]),
    ]
