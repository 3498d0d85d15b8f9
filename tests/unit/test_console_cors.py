"""CORS for the web console, when it is served from another origin than the API it reads:
its origin only (shared.http.allow_console), the local gateway's preflights as API Gateway's
(template `Cors`), and the page that tells the console where the conversations API is."""

from __future__ import annotations

import asyncio
import base64
import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from devtools.gateway import Gateway, HttpRequest, LoadedFunction
from devtools.template import Function, load_template
from shared import http
from shared.errors import StorageUnavailable
from shared.http import RequestContext, conversations_error, create_app, route
from shared.settings import Settings
from tests.support import LambdaContext, api_event

CONSOLE = "https://console.example"


async def listing(request: Request, ctx: RequestContext) -> Response:
    return http.JSONBody({"data": []})


async def failing(request: Request, ctx: RequestContext) -> Response:
    raise StorageUnavailable()


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(http, "get_settings", lambda: Settings(console_origin=CONSOLE))
    app = create_app(
        [
            route("/api/v1/conversations", listing, ["GET"], conversations_error),
            route("/api/v1/broken", failing, ["GET"], conversations_error),
        ],
        conversations_error,
    )
    with TestClient(app) as test_client:
        yield test_client


def cors_headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/broken", "/api/v1/nope"])
def test_the_console_origin_may_read_every_answer(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Origin": CONSOLE})
    assert cors_headers(response) == {
        "access-control-allow-origin": CONSOLE,
        "access-control-expose-headers": "Retry-After",  # the console shows "try again in N s"
    }
    assert "Origin" in response.headers["vary"]
    if path == "/api/v1/broken":
        assert response.status_code == 503
        assert response.headers["retry-after"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "https://evil.example"}, {"Origin": CONSOLE + ":8443"}, {"Origin": "null"}],
)
def test_any_other_origin_or_none_gets_no_cors(client: TestClient, headers: dict[str, str]) -> None:
    for path in ("/api/v1/conversations", "/api/v1/broken"):
        response = client.get(path, headers=headers)
        assert cors_headers(response) == {}
        assert response.headers["vary"] == "Origin"  # a cache keeps each origin's answer apart


def test_a_preflight_reaching_a_function_is_not_answered(client: TestClient) -> None:
    # API Gateway answers preflights itself; a function never allows a method or header.
    response = client.options(
        "/api/v1/conversations",
        headers={"Origin": CONSOLE, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert "access-control-allow-methods" not in response.headers


def test_without_a_console_origin_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "get_settings", lambda: Settings())
    app = create_app([route("/x", listing, ["GET"])])
    with TestClient(app) as test_client:
        response = test_client.get("/x", headers={"Origin": CONSOLE})
    assert cors_headers(response) == {}
    assert "vary" not in response.headers


@pytest.mark.parametrize(
    "origin", ["*", "https://console.example/", "https://console.example/app", "console.example"]
)
def test_the_setting_is_one_exact_origin(origin: str) -> None:
    with pytest.raises(ValidationError):
        Settings(console_origin=origin)


# --- the local gateway answers preflights as the template's Cors makes API Gateway do ----------

ORIGINS = {"IngestApi": "http://127.0.0.1:1111", "ConversationsApi": "http://127.0.0.1:2222"}


class _NeverCalled:
    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        raise AssertionError("a preflight reached a function or the authorizer")


def _loader(template: dict[str, Any], function: Function) -> LoadedFunction:
    return LoadedFunction(function, _NeverCalled(), 29, 128)


def preflight(gateway: Gateway, path: str) -> Any:
    headers = [("Origin", ORIGINS["IngestApi"]), ("Access-Control-Request-Method", "GET")]
    return gateway.handle(HttpRequest("OPTIONS", path, "", headers, b""))


def test_local_preflight_is_the_templates_without_the_authorizer() -> None:
    gateway = Gateway(load_template(), "ConversationsApi", loader=_loader, origins=ORIGINS)
    for path in ("/api/v1/conversations", "/api/v1/conversations/conv_1/insights"):
        answer = preflight(gateway, path)
        assert answer.status == 200
        assert answer.header("Access-Control-Allow-Origin") == ORIGINS["IngestApi"]
        assert answer.header("Access-Control-Allow-Methods") == "GET"
        assert answer.header("Access-Control-Allow-Headers") == "Authorization"
        assert answer.header("Access-Control-Max-Age") == "600"
        assert answer.header("Access-Control-Allow-Credentials") is None
    assert preflight(gateway, "/api/v1/nope").status == 404


def test_local_preflight_with_the_default_authorizer_is_refused() -> None:
    template = copy.deepcopy(load_template())
    auth = template["Resources"]["ConversationsApi"]["Properties"]["Auth"]
    del auth["AddDefaultAuthorizerToCorsPreflight"]  # SAM's default: the authorizer guards it
    gateway = Gateway(template, "ConversationsApi", loader=_loader, origins=ORIGINS)
    assert preflight(gateway, "/api/v1/conversations").status == 401


def test_the_ingest_api_answers_no_preflight() -> None:
    gateway = Gateway(load_template(), "IngestApi", loader=_loader, origins=ORIGINS)
    answer = preflight(gateway, "/v1/conversations")
    assert answer.status == 404
    assert not [h for h, _ in answer.headers if h.lower().startswith("access-control-")]


def test_local_gateway_answers_carry_the_console_origin() -> None:
    gateway = Gateway(load_template(), "ConversationsApi", loader=_loader, origins=ORIGINS)
    answer = gateway.handle(HttpRequest("GET", "/api/v1/conversations", "", [], b""))
    assert answer.status == 401  # no key: refused before the authorizer runs
    assert answer.header("Access-Control-Allow-Origin") == ORIGINS["IngestApi"]


# --- the console's page ----------------------------------------------------------------------


@pytest.fixture
def event_loop_for_mangum() -> Iterator[None]:
    """Mangum runs the app on the thread's current loop, as the Lambda main thread has one."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


def console_page(stage_variables: dict[str, str] | None, path: str = "/prod/") -> dict[str, Any]:
    from functions.console.app import handler

    event = api_event("GET", "/", tenant=None)
    event["stageVariables"] = stage_variables
    event["requestContext"]["path"] = path
    answer: dict[str, Any] = handler(event, LambdaContext())
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    return {"status": answer["statusCode"], "headers": headers, "body": body}


@pytest.mark.usefixtures("event_loop_for_mangum")
def test_the_page_names_the_conversations_api_and_may_connect_only_there() -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    page = console_page({"conversationsApiUrl": url})
    assert page["status"] == 200
    assert f'<meta name="parley-conversations-api" content="{url}">' in page["body"]
    csp = page["headers"]["content-security-policy"]
    assert "connect-src 'self' https://abc123.execute-api.eu-west-1.amazonaws.com;" in csp
    assert "default-src 'self'" in csp


@pytest.mark.usefixtures("event_loop_for_mangum")
@pytest.mark.parametrize("variables", [None, {}, {"conversationsApiUrl": "javascript:alert(1)"}])
def test_without_a_usable_url_the_page_reads_its_own_origin(
    variables: dict[str, str] | None,
) -> None:
    page = console_page(variables)
    assert '<meta name="parley-conversations-api" content="">' in page["body"]
    assert "connect-src 'self';" in page["headers"]["content-security-policy"]


@pytest.mark.usefixtures("event_loop_for_mangum")
def test_the_page_url_gets_its_trailing_slash() -> None:
    # https://…/prod would resolve the page's relative links outside the stage.
    page = console_page(None, path="/prod")
    assert page["status"] == 308
    assert page["headers"]["location"] == "prod/"


@pytest.mark.usefixtures("event_loop_for_mangum")
def test_the_unrendered_page_is_not_served() -> None:
    from functions.console.app import handler

    event = api_event("GET", "/console/index.html", resource="/console/{file}", tenant=None)
    event["pathParameters"] = {"file": "index.html"}
    assert handler(event, LambdaContext())["statusCode"] == 404
