"""API Gateway (REST API, Lambda proxy) emulation for the local server.

An HTTP request becomes the events API Gateway would send: the REQUEST authorizer event for the
real authorizer handler, then the proxy event for the real function handler (Mangum included).
Routes, the authorizer and the gateway's own answers all come from template.yaml; only what AWS
itself fixes (quotas, default gateway answers) is written down here.

CORS preflights (OPTIONS) are answered from the API's `Cors` setting as API Gateway's mock
integration does, and stage variables reach the functions; both resolve an API's deployed URL to
its local origin (`origins`: each API's, given by the server).

Not emulated: authorizer caching (ReauthorizeEvery; a revoked key stops working at once
locally), throttling, the 29 s integration timeout, and per-function environment variables
(every handler shares this process, so only Globals apply).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import importlib
import json
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from devtools.template import (
    ApiRoute,
    Authorizer,
    Cors,
    Function,
    GatewayAnswer,
    api_authorizer,
    api_cors,
    api_routes,
    function_setting,
    gateway_responses,
    stage_variables,
)

# AWS quotas, not template settings.
MAX_REQUEST_BODY = 10 * 1024 * 1024  # API Gateway REST payload limit (10,485,760 bytes)
MAX_LAMBDA_PAYLOAD = 6 * 1024 * 1024  # synchronous invoke, request event and response alike

ACCOUNT_ID = "000000000000"
REGION = "local"
API_ID = "local"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str  # as sent, still percent-encoded, without the query string
    query: str
    headers: list[tuple[str, str]]  # in the order sent, repeats included
    body: bytes
    source_ip: str = "127.0.0.1"
    too_large: bool = False  # the body passed MAX_REQUEST_BODY (and was not kept)
    # Refused by the local HTTP server before the gateway (a body that stopped arriving, an
    # over-long URL…): (status, message), answered in the API's own 4xx/5xx envelope.
    refused: tuple[int, str] | None = None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class LambdaContext:
    """What a Lambda handler's context offers, with the function's real timeout."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(int((self.timeout_seconds - elapsed) * 1000), 0)


@dataclass(frozen=True)
class LoadedFunction:
    function: Function
    handler: Handler
    timeout_seconds: float
    memory_mb: int

    def invoke(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.function.logical_id, self.memory_mb, self.timeout_seconds)
        # Mangum runs the app with asyncio.get_event_loop(): a request thread needs its own loop.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return self.handler(event, context)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def load_function(template: dict[str, Any], function: Function) -> LoadedFunction:
    module = importlib.import_module(function.module_name)
    handler = getattr(module, function.attribute)
    return LoadedFunction(
        function=function,
        handler=handler,
        timeout_seconds=float(function_setting(template, function.logical_id, "Timeout") or 3),
        memory_mb=int(function_setting(template, function.logical_id, "MemorySize") or 128),
    )


# What API Gateway answers when the template does not customise a response type:
# (status, message, x-amzn-ErrorType).
_AWS_DEFAULTS: dict[str, tuple[int, str, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "ACCESS_DENIED": (
        403,
        "User is not authorized to access this resource with an explicit deny",
        "AccessDeniedException",
    ),
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "BadRequestException"),
    # Any other 4xx; its status is given by the caller.
    "DEFAULT_4XX": (400, "Bad Request", "BadRequestException"),
    "AUTHORIZER_FAILURE": (500, "Internal server error", "AuthorizerFailureException"),
    "AUTHORIZER_CONFIGURATION_ERROR": (
        500,
        "Internal server error",
        "AuthorizerConfigurationException",
    ),
    # A function that fails or returns a malformed proxy response.
    "DEFAULT_5XX": (502, "Internal server error", "InternalServerErrorException"),
}


class Gateway:
    """One REST API of the template, served in-process."""

    def __init__(
        self,
        template: dict[str, Any],
        api: str,
        stage: str = "local",
        loader: Callable[[dict[str, Any], Function], LoadedFunction] = load_function,
        origins: Mapping[str, str] | None = None,
    ) -> None:
        self.api = api
        self.stage = stage
        self.routes = [r for r in api_routes(template) if r.api == api]
        self.answers: dict[str, GatewayAnswer] = gateway_responses(template, api, origins)
        self.cors: Cors | None = api_cors(template, api, origins or {})
        self.stage_variables = stage_variables(template, api, origins or {}) or None
        self.authorizer: Authorizer | None = api_authorizer(template, api)
        if self.authorizer and self.authorizer.payload_type != "REQUEST":
            raise ValueError(f"{api}: only REQUEST authorizers are emulated")
        needed = [r.function for r in self.routes]
        if self.authorizer:
            needed.append(self.authorizer.function)
        self._functions: dict[str, LoadedFunction] = {
            f.logical_id: loader(template, f) for f in dict.fromkeys(needed)
        }

    # --- the request pipeline ----------------------------------------------------------------

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        if request.too_large:
            return self.gateway_answer("REQUEST_TOO_LARGE", request_id)
        if request.refused is not None:
            status, message = request.refused
            kind = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
            return self.gateway_answer(kind, request_id, message, status)
        if self.cors is not None and request.method.upper() == "OPTIONS":
            return self._preflight(request, request_id)
        matched = self.match(request.method, request.raw_path)
        if matched is None:
            return self.gateway_answer("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, path_params = matched
        event = self._proxy_event(request, route, path_params, request_id)
        if self.authorizer is not None and route.authorized:
            denied = self._authorize(request, event)
            if denied is not None:
                return denied
        function = self._functions[route.function.logical_id]
        if len(json.dumps(event)) > MAX_LAMBDA_PAYLOAD:
            return self.gateway_answer("REQUEST_TOO_LARGE", request_id)
        try:
            raw = function.invoke(event)
            response = self._proxy_response(raw)
        except Exception:
            print(f"{function.function.logical_id} failed:", file=sys.stderr)
            traceback.print_exc()
            return self.gateway_answer("DEFAULT_5XX", request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _preflight(self, request: HttpRequest, request_id: str) -> HttpResponse:
        """SAM's CORS OPTIONS method on every path of the API: a mock integration answering the
        `Cors` headers, whatever the request's Origin."""
        assert self.cors is not None
        if not any(route.pattern.fullmatch(request.raw_path) for route in self.routes):
            return self.gateway_answer("MISSING_AUTHENTICATION_TOKEN", request_id)
        if self.cors.authorized and self.authorizer is not None:
            # The default authorizer guards the preflight too (SAM's default), and a browser's
            # preflight never carries the key: refused before the mock (keyed calls not
            # emulated).
            return self.gateway_answer("UNAUTHORIZED", request_id)
        headers = [("Content-Type", "application/json"), *self.cors.headers.items()]
        return HttpResponse(200, [*headers, ("x-amzn-RequestId", request_id)], b"{}")

    def match(self, method: str, raw_path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.fullmatch(raw_path)
            if found and route.method in (method.upper(), "ANY"):
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    def _authorize(self, request: HttpRequest, event: dict[str, Any]) -> HttpResponse | None:
        """Run the authorizer; None when the call may go on (event's authorizer context set)."""
        assert self.authorizer is not None
        request_id: str = event["requestContext"]["requestId"]
        headers = {k.lower(): v for k, v in request.headers}
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        # A missing identity source: API Gateway answers 401 without calling the authorizer.
        if any(not headers.get(h.lower()) for h in self.authorizer.identity_headers) or any(
            not query.get(q) for q in self.authorizer.identity_query_strings
        ):
            return self.gateway_answer("UNAUTHORIZED", request_id)
        method_arn = (
            f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.stage}/"
            f"{request.method.upper()}/{request.raw_path.lstrip('/')}"
        )
        auth_event = {
            "type": "REQUEST",
            "methodArn": method_arn,
            **{k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")},
            "requestContext": {
                k: v for k, v in event["requestContext"].items() if k != "authorizer"
            },
        }
        started = time.monotonic()
        try:
            result = self._functions[self.authorizer.function.logical_id].invoke(auth_event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return self.gateway_answer("UNAUTHORIZED", request_id)
            print(f"{self.authorizer.function.logical_id} failed:", file=sys.stderr)
            traceback.print_exc()
            return self.gateway_answer("AUTHORIZER_FAILURE", request_id)
        latency_ms = int((time.monotonic() - started) * 1000)
        context = _authorizer_context(result)
        if context is None:
            return self.gateway_answer("AUTHORIZER_CONFIGURATION_ERROR", request_id)
        if not policy_allows(result["policyDocument"], method_arn):
            return self.gateway_answer("ACCESS_DENIED", request_id)
        event["requestContext"]["authorizer"] = {
            **context,
            "principalId": str(result["principalId"]),
            "integrationLatency": latency_ms,
        }
        return None

    # --- events and responses ----------------------------------------------------------------

    def _proxy_event(
        self,
        request: HttpRequest,
        route: ApiRoute,
        path_params: dict[str, str],
        request_id: str,
    ) -> dict[str, Any]:
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        spelling: dict[str, str] = {}
        for name, value in request.headers:
            name = spelling.setdefault(name.lower(), name)
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        for name, value in (
            ("X-Forwarded-For", request.source_ip),
            ("X-Forwarded-Proto", "http"),
        ):
            if name.lower() not in spelling:
                headers[name] = value
                multi_headers[name] = [value]
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in parse_qsl(request.query, keep_blank_values=True):
            query[key] = value
            multi_query.setdefault(key, []).append(value)
        now = datetime.now(UTC)
        request_context = {
            "resourceId": hashlib.sha256(route.path.encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "httpMethod": request.method.upper(),
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{self.stage}{request.raw_path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": self.stage,
            "domainPrefix": API_ID,
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": headers.get(spelling.get("user-agent", "User-Agent")),
            },
            "domainName": headers.get(spelling.get("host", "Host"), "127.0.0.1"),
            "apiId": API_ID,
            "authorizer": {},
        }
        return {
            "resource": route.path,
            "path": request.raw_path,
            "httpMethod": request.method.upper(),
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None,
            "stageVariables": self.stage_variables,
            "requestContext": request_context,
            # BinaryMediaTypes */*: every body reaches the function base64-encoded.
            "body": base64.b64encode(request.body).decode() if request.body else None,
            "isBase64Encoded": bool(request.body),
        }

    def _proxy_response(self, raw: Any) -> HttpResponse:
        """A Lambda proxy response as API Gateway turns it into HTTP; ValueError if malformed."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("statusCode"), int):
            raise ValueError("Malformed Lambda proxy response: no integer statusCode")
        if len(json.dumps(raw)) > MAX_LAMBDA_PAYLOAD:
            raise ValueError(f"Response payload is over the Lambda limit of {MAX_LAMBDA_PAYLOAD}")
        headers: list[tuple[str, str]] = []
        multi = raw.get("multiValueHeaders") or {}
        for name, values in multi.items():
            headers += [(name, str(v)) for v in values]
        taken = {name.lower() for name in multi}
        headers += [
            (name, str(value))
            for name, value in (raw.get("headers") or {}).items()
            if name.lower() not in taken
        ]
        # API Gateway sets these itself.
        headers = [
            (k, v)
            for k, v in headers
            if k.lower() not in ("content-length", "connection", "transfer-encoding")
        ]
        body = raw.get("body") or ""
        try:
            data = base64.b64decode(body, validate=True) if raw.get("isBase64Encoded") else None
        except binascii.Error as exc:
            raise ValueError("Malformed Lambda proxy response: bad base64 body") from exc
        if data is None:
            data = str(body).encode()
        return HttpResponse(raw["statusCode"], headers, data)

    def gateway_answer(
        self, kind: str, request_id: str, message: str | None = None, status: int | None = None
    ) -> HttpResponse:
        """One of API Gateway's own answers, as the template's GatewayResponses shape it."""
        default_status, default_message, error_type = _AWS_DEFAULTS[kind]
        status = status or default_status
        message = message or default_message
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        answer = self.answers.get(kind) or self.answers.get(family)
        headers = [("Content-Type", "application/json")]
        if answer is None:
            body = json.dumps({"message": message})
        else:
            status, body = answer.render(request_id, message, status)
            headers += list(answer.headers.items())
        headers += [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", error_type)]
        return HttpResponse(status, headers, body.encode())


def _authorizer_context(result: Any) -> dict[str, str] | None:
    """The authorizer's context as API Gateway passes it on (values as strings); None when the
    answer is not a valid authorizer response."""
    if not isinstance(result, Mapping) or not result.get("principalId"):
        return None
    if not isinstance(result.get("policyDocument"), Mapping):
        return None
    context = result.get("context") or {}
    if not isinstance(context, Mapping):
        return None
    flat: dict[str, str] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            flat[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            flat[key] = str(value)
        else:  # objects and arrays are not allowed in an authorizer context
            return None
    return flat


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _arn_pattern(resource: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(resource))
    )


def policy_allows(policy: Mapping[str, Any], method_arn: str) -> bool:
    """IAM-style evaluation for execute-api:Invoke: an explicit Deny wins, then any Allow."""
    allowed = False
    for statement in _as_list(policy.get("Statement") or []):
        if not isinstance(statement, Mapping):
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        if not any(a in ("*", "execute-api:*", "execute-api:Invoke") for a in actions):
            continue
        resources = _as_list(statement.get("Resource", []))
        if not any(_arn_pattern(r).fullmatch(method_arn) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


class Gateways:
    """Every REST API of the template on one port, as one stage of each. A request goes to the
    API that has its route; an unknown path to the API whose routes share the most leading
    path segments with it (the first API on a tie), so it is answered in that API's envelope:
    `/api/…` in the conversations API's, anything else in the ingest API's."""

    def __init__(
        self,
        template: dict[str, Any],
        api_ids: list[str],
        stage: str = "local",
        loader: Callable[[dict[str, Any], Function], LoadedFunction] = load_function,
        origins: Mapping[str, str] | None = None,
    ) -> None:
        loaded: dict[str, LoadedFunction] = {}

        def load_once(template: dict[str, Any], function: Function) -> LoadedFunction:
            # The authorizer serves every API: one instance, as one Lambda function.
            if function.logical_id not in loaded:
                loaded[function.logical_id] = loader(template, function)
            return loaded[function.logical_id]

        self.gateways = [Gateway(template, api, stage, load_once, origins) for api in api_ids]

    @property
    def routes(self) -> list[ApiRoute]:
        return [route for gateway in self.gateways for route in gateway.routes]

    def handle(self, request: HttpRequest) -> HttpResponse:
        return self.gateway_for(request.method, request.raw_path).handle(request)

    def gateway_for(self, method: str, raw_path: str) -> Gateway:
        for gateway in self.gateways:
            if gateway.match(method, raw_path) is not None:
                return gateway
        segments = raw_path.strip("/").split("/")

        def shared(gateway: Gateway) -> int:
            best = 0
            for route in gateway.routes:
                common = 0
                for mine, theirs in zip(segments, route.path.strip("/").split("/"), strict=False):
                    if mine != theirs:
                        break
                    common += 1
                best = max(best, common)
            return best

        return max(self.gateways, key=shared)  # max keeps the first of equals
