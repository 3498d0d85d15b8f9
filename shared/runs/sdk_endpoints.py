"""`/api/v1/sdk/…`: the SDK's configuration and agent lookup, answered honestly by a service
that stores and reads conversations but has no agent registry and optimizes no prompts.

Kept apart from the runs routes so these two functions load no conversations code on a cold
start (the one-field body is checked here rather than with a pydantic model for that reason).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shared.body import parse_json, read_body
from shared.errors import BadRequest
from shared.http import JSONBody, RequestContext, conversations_route

# Capture stays on, nothing is being tested, no prompt hash is known. "simulation" keeps the
# SDK from asking for an active variant before every wrapped call (it only does in "proxy").
SDK_CONFIG: dict[str, Any] = {
    "testingMode": "simulation",
    "captureEnabled": True,
    "activeOptimizations": [],
    "agentHashes": {},
}

# No system prompt matches an agent: the SDK reads a missing agentId as "no match" and
# captures the call without one.
NO_AGENT_MATCH: dict[str, Any] = {"matched": False, "agentId": None}


async def sdk_config(request: Request, ctx: RequestContext) -> Response:
    _ = ctx.tenant  # fail closed if the authorizer did not run, like every route
    return JSONBody({"data": SDK_CONFIG})


def check_match_body(body: Any) -> None:
    """`{"content": <system prompt>}`, or a 400 naming the field."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    details = {name: "Unknown field" for name in body if name != "content"}
    if not isinstance(body.get("content"), str):
        details["content"] = "Required field" if "content" not in body else "Must be a string"
    if details:
        raise BadRequest("Invalid request body", details=details)


async def match_agent(request: Request, ctx: RequestContext) -> Response:
    _ = ctx.tenant
    body = await read_body(request.stream(), request.headers.get("content-encoding"))
    check_match_body(parse_json(body))
    return JSONBody({"data": NO_AGENT_MATCH})


SDK_CONFIG_ROUTE = conversations_route("/api/v1/sdk/config", sdk_config, "GET")
AGENTS_MATCH_ROUTE = conversations_route("/api/v1/sdk/agents/match", match_agent, "POST")
