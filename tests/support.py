"""Helpers for invoking the real handlers with API Gateway REST proxy events."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.openapi_check import check_response


@dataclass
class LambdaContext:
    """The part of the Lambda context the handlers use."""

    remaining_ms: int = 29_000
    function_name: str = "test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    raw_body: bytes | None = None,
    gzip_body: bool = False,
    tenant: str | None = "acme",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it once the authorizer has allowed the call."""
    data = (
        raw_body
        if raw_body is not None
        else (json.dumps(body).encode() if body is not None else None)
    )
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if gzip_body and data is not None:
        data = gzip.compress(data)
        all_headers["Content-Encoding"] = "gzip"
    request_id = str(uuid.uuid4())
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {"tenantId": tenant, "principalId": tenant} if tenant else {},
        },
        # BinaryMediaTypes */* : API Gateway hands every body over base64-encoded.
        "body": base64.b64encode(data).decode() if data is not None else None,
        "isBase64Encoded": data is not None,
    }


def id_event(method: str, resource: str, resource_id: str, **kwargs: Any) -> dict[str, Any]:
    """An event for a route whose path holds one `{id}` (a conversation, run or webhook), as
    API Gateway sends it: the id in the path as given and in `pathParameters`."""
    path = resource.replace("{id}", resource_id)
    return api_event(method, path, resource=resource, path_params={"id": resource_id}, **kwargs)


def records_event(
    conversation_id: str, *, tenant: str | None = "acme", query: dict[str, str] | None = None
) -> dict[str, Any]:
    """`GET /v1/conversations/{conversationId}/records` for this conversation (any text: it is
    percent-encoded into the path as a client would)."""
    return api_event(
        "GET",
        f"/v1/conversations/{quote(conversation_id, safe='')}/records",
        resource="/v1/conversations/{conversationId}/records",
        path_params={"conversationId": conversation_id},
        query=query or None,
        tenant=tenant,
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def _ensure_event_loop() -> None:
    """Mangum runs each request on the thread's current loop, as the Lambda main thread has."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


def invoke(handler: Any, event: dict[str, Any], context: LambdaContext | None = None) -> Answer:
    _ensure_event_loop()
    raw = handler(event, context or LambdaContext())
    headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
    text = raw.get("body") or ""
    if raw.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    body = json.loads(text) if text else None
    check_response(
        event["httpMethod"], event["path"], raw["statusCode"], headers.get("content-type"), body
    )
    return Answer(raw["statusCode"], headers, body)


def nesting_depth(value: object) -> int:
    """How many levels of objects and arrays `value` nests (a scalar is 0, `{}` is 1): what the
    tests hold stored records to (`shared.body.MAX_JSON_DEPTH`). Iterative, so no value is
    too deep to measure."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
