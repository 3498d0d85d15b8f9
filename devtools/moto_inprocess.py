"""The dev server's own calls to its embedded moto server, without the loopback HTTP hop.

moto's threaded server (werkzeug) closes the connection after every answer, so each DynamoDB,
S3 or SQS call of the handlers cost a new TCP connection, a new server thread and a chunked
answer written in pieces: about half of `make dev`'s CPU under load (bench/devprofile.py).
The handlers run in the same process as that server, so their botocore requests for its
endpoint are handed straight to the same WSGI application the server runs (werkzeug's test
helpers build the request environment): botocore still serializes, signs and parses every
call, and moto still routes and answers it as over HTTP. Other processes (the CLI, the
loadtest, `aws --endpoint-url`) keep using the HTTP server; another endpoint
(PARLEY_DYNAMODB_ENDPOINT, the fault proxy of the tests) is never short-circuited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

_endpoints: set[str] = set()


def dispatch_in_process(endpoint: str) -> Callable[[], None]:
    """Answer this process's botocore requests to `endpoint` (scheme://host:port, an embedded
    moto server of this process) in-process; returns the function that stops doing so (once the
    server stops, another server may get its port)."""
    from botocore.httpsession import URLLib3Session

    base = endpoint.rstrip("/")
    _endpoints.add(base)
    if not getattr(URLLib3Session.send, "in_process", False):
        URLLib3Session.send = _in_process_send(URLLib3Session.send)  # type: ignore[method-assign]
    return lambda: _endpoints.discard(base)


def _in_process_send(original: Callable[..., Any]) -> Callable[..., Any]:
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    app = DomainDispatcherApplication(create_backend_app)

    def send(self: Any, request: Any) -> Any:
        url = urlsplit(request.url)
        base = f"{url.scheme}://{url.netloc}"
        if base not in _endpoints:
            return original(self, request)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        environ = EnvironBuilder(
            path=url.path or "/",
            base_url=base,
            query_string=url.query or None,
            method=request.method,
            headers={
                k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
            },
            data=body or b"",
        ).get_environ()
        app_iter, status, headers = run_wsgi_app(app, environ)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        answer_headers: Any = dict(headers)  # botocore wraps it in its own HeadersDict
        code = int(status.split(" ", 1)[0])
        return AWSResponse(request.url, code, answer_headers, MockRawResponse(content))

    send.in_process = True  # type: ignore[attr-defined]
    return send
