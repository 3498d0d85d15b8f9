"""devtools.gateway in-process, with stand-in handlers: the API Gateway behaviour the real
handlers cannot provoke (authorizer failures, Deny, broken functions, Lambda payload limits)
and the exact shape of the events. The real handlers are covered over HTTP in test_local_api."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from devtools.gateway import (
    MAX_LAMBDA_PAYLOAD,
    Gateways,
    HttpRequest,
    HttpResponse,
    LoadedFunction,
    policy_allows,
)
from devtools.template import Function, api_routes, apis, gateway_responses, load_template
from shared.authorizer import allow_policy

API = "IngestApi"
AUTHORIZER = "AuthorizerFunction"
KEY = "Bearer prl_" + "k" * 43
ANSWERS = gateway_responses(load_template(), API)

Handler = Callable[[dict[str, Any], Any], Any]


def allow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # non-string context values: API Gateway hands them to the function as strings
    return allow_policy("acme", event["methodArn"], {"keyId": "key_1", "trusted": True, "n": 3})


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    assert context.get_remaining_time_in_millis() > 0
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Content-Length": "999"},
        "multiValueHeaders": {"X-Many": ["a", "b"]},
        "body": json.dumps(event),
        "isBase64Encoded": False,
    }


class Stand:
    """A Gateway over the real template whose handlers are stand-ins; records every call."""

    def __init__(self, **handlers: Handler) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = {}
        self.handlers = {AUTHORIZER: allow, **handlers}
        self.gateway = Gateways(load_template(), apis(load_template()), loader=self._load)

    def _load(self, template: dict[str, Any], function: Function) -> LoadedFunction:
        handler = self.handlers.get(function.logical_id, echo)

        def recorded(event: dict[str, Any], context: Any) -> Any:
            self.calls.setdefault(function.logical_id, []).append(event)
            return handler(event, context)

        return LoadedFunction(function, recorded, timeout_seconds=29, memory_mb=1024)

    def send(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: bytes = b"",
        headers: list[tuple[str, str]] | None = None,
    ) -> HttpResponse:
        all_headers = [("Authorization", KEY)] if headers is None else headers
        return self.gateway.handle(HttpRequest(method, path, query, all_headers, body))


def envelope(response: HttpResponse) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.body)
    assert body["requestId"] == response.header("x-amzn-RequestId")
    assert body["success"] is False
    return body


def test_the_routes_come_from_the_template() -> None:
    stand = Stand()
    expected = {(r.method, r.path, r.api) for r in api_routes(load_template())}
    assert {(r.method, r.path, r.api) for r in stand.gateway.routes} == expected
    assert {r.api for r in stand.gateway.routes} == {"IngestApi", "ConversationsApi"}


def test_the_function_gets_a_rest_proxy_event() -> None:
    stand = Stand()
    response = stand.send(
        "GET",
        "/v1/conversations/a%20b%2Fc/records",
        query="limit=5&limit=6&cursor=",
        headers=[("Authorization", KEY), ("X-Many", "1"), ("x-many", "2")],
    )
    assert response.status == 200
    event = json.loads(response.body)
    request_id = response.header("x-amzn-RequestId")
    assert event["resource"] == "/v1/conversations/{conversationId}/records"
    assert event["path"] == "/v1/conversations/a%20b%2Fc/records"  # REST keeps it encoded
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"conversationId": "a b/c"}
    assert event["queryStringParameters"] == {"limit": "6", "cursor": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "6"], "cursor": [""]}
    assert event["headers"]["X-Many"] == "2"
    assert event["multiValueHeaders"]["X-Many"] == ["1", "2"]
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == request_id
    assert context["stage"] == "local"
    assert context["resourcePath"] == event["resource"]
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["authorizer"] == {
        "tenantId": "acme",
        "keyId": "key_1",
        "trusted": "true",
        "n": "3",
        "principalId": "acme",
        "integrationLatency": context["authorizer"]["integrationLatency"],
    }
    # The function's proxy response, as API Gateway turns it into HTTP.
    assert [v for k, v in response.headers if k == "X-Many"] == ["a", "b"]
    assert response.header("Content-Length") is None  # the server sets the real one


def test_bodies_arrive_base64_encoded() -> None:
    stand = Stand()
    stand.send("POST", "/v1/ingest", body=b"\x1f\x8b binary")
    (event,) = stand.calls["IngestFunction"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x1f\x8b binary"


def test_the_authorizer_gets_a_request_event() -> None:
    stand = Stand()
    stand.send("POST", "/v1/ingest/multi", query="a=1", body=b"{}")
    (event,) = stand.calls[AUTHORIZER]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == (
        "arn:aws:execute-api:local:000000000000:local/local/POST/v1/ingest/multi"
    )
    assert event["headers"]["Authorization"] == KEY
    assert event["queryStringParameters"] == {"a": "1"}
    assert event["requestContext"]["requestId"]
    assert "body" not in event


def test_no_authorization_header_is_401_without_asking_the_authorizer() -> None:
    stand = Stand()
    response = stand.send("POST", "/v1/ingest", headers=[("Content-Type", "application/json")])
    assert response.status == 401
    assert envelope(response)["message"] == "Invalid or missing API key"
    assert AUTHORIZER not in stand.calls
    assert "IngestFunction" not in stand.calls


def raise_(exc: Exception) -> Handler:
    def handler(event: dict[str, Any], context: Any) -> Any:
        raise exc

    return handler


def test_an_unauthorized_authorizer_is_401() -> None:
    stand = Stand(AuthorizerFunction=raise_(Exception("Unauthorized")))
    response = stand.send("POST", "/v1/ingest")
    assert response.status == 401
    assert envelope(response)["retryable"] is False
    assert "IngestFunction" not in stand.calls


def test_a_failing_authorizer_is_a_retryable_503() -> None:
    """E.g. the key lookup stayed throttled past its deadline: retry, never a bare 500."""
    stand = Stand(AuthorizerFunction=raise_(RuntimeError("Storage is temporarily unavailable")))
    response = stand.send("POST", "/v1/ingest")
    assert response.status == 503
    assert response.header("Retry-After") == "2"
    body = envelope(response)
    assert body["retryable"] is True
    assert "retry" in body["message"]
    assert "IngestFunction" not in stand.calls


def conversations_error(response: HttpResponse) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response.body)
    assert set(body) == {"error"}, body
    assert response.header("x-amzn-RequestId")
    error: dict[str, Any] = body["error"]
    return error


def test_a_failing_authorizer_is_a_retryable_503_on_the_conversations_api() -> None:
    stand = Stand(AuthorizerFunction=raise_(RuntimeError("Storage is temporarily unavailable")))
    response = stand.send("POST", "/api/v1/conversations")
    assert response.status == 503
    assert response.header("Retry-After") == "2"
    assert conversations_error(response)["code"] == "SERVICE_UNAVAILABLE"
    assert "ConversationsCreateFunction" not in stand.calls


@pytest.mark.parametrize(
    ("method", "path", "function"),
    [
        ("POST", "/api/v1/conversations", "ConversationsCreateFunction"),
        ("GET", "/api/v1/conversations", "ConversationsListFunction"),
        ("GET", "/api/v1/conversations/conv_1", "ConversationsGetFunction"),
        ("POST", "/api/v1/conversations/conv_1/messages", "ConversationsAppendFunction"),
        ("GET", "/api/v1/conversations/conv_1/insights", "ConversationsInsightsFunction"),
        ("POST", "/v1/ingest", "IngestFunction"),
    ],
)
def test_both_apis_are_served_side_by_side(method: str, path: str, function: str) -> None:
    stand = Stand()
    assert stand.send(method, path).status == 200
    assert list(stand.calls) == [AUTHORIZER, function]


@pytest.mark.parametrize("path", ["/", "/console/app.js"])
def test_a_route_with_authorizer_none_is_served_without_a_key(path: str) -> None:
    stand = Stand()
    assert stand.send("GET", path, headers=[]).status == 200
    assert list(stand.calls) == ["ConsoleFunction"]


@pytest.mark.parametrize(
    ("path", "conversations"),
    [
        ("/api/v1/unknown", True),
        ("/api/v1/conversations/conv_1/other", True),
        ("/api", True),
        ("/v1/unknown", False),
        ("/console", False),
    ],
)
def test_unknown_paths_answer_in_the_envelope_of_the_nearest_api(
    path: str, conversations: bool
) -> None:
    stand = Stand()
    response = stand.send("GET", path)
    assert response.status == 404
    if conversations:
        assert conversations_error(response) == {
            "code": "NOT_FOUND",
            "message": "No such route: check the method and path",
        }
    else:
        assert envelope(response)["message"] == "No such route: check the method and path"
    assert stand.calls == {}


def test_one_key_works_on_both_apis() -> None:
    stand = Stand()
    assert stand.send("POST", "/v1/ingest").status == 200
    assert stand.send("GET", "/api/v1/conversations").status == 200
    assert len(stand.calls[AUTHORIZER]) == 2


@pytest.mark.parametrize(
    "answer",
    [
        {"policyDocument": {"Statement": []}},  # no principalId
        {"principalId": "x"},  # no policy
        {"principalId": "x", "policyDocument": {}, "context": {"nested": {"a": 1}}},
    ],
    ids=["no-principal", "no-policy", "nested-context"],
)
def test_a_malformed_authorizer_answer_is_a_retryable_503(answer: dict[str, Any]) -> None:
    stand = Stand(AuthorizerFunction=lambda event, context: answer)
    response = stand.send("POST", "/v1/ingest")
    assert response.status == 503
    assert response.header("Retry-After") == "2"
    assert envelope(response)["retryable"] is True
    assert "IngestFunction" not in stand.calls


def deny(event: dict[str, Any], context: Any) -> dict[str, Any]:
    answer = allow(event, context)
    answer["policyDocument"]["Statement"].append(
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]}
    )
    return answer


def test_a_deny_policy_is_the_access_denied_answer() -> None:
    stand = Stand(AuthorizerFunction=deny)
    response = stand.send("POST", "/v1/ingest")
    assert response.status == int(ANSWERS["ACCESS_DENIED"].status or 0)
    assert envelope(response)["message"] in ANSWERS["ACCESS_DENIED"].body_template
    assert "IngestFunction" not in stand.calls


def test_a_failing_or_malformed_function_is_502() -> None:
    for handler in (raise_(RuntimeError("bug")), lambda event, context: {"body": "no status"}):
        response = Stand(IngestFunction=handler).send("POST", "/v1/ingest", body=b"{}")
        assert response.status == 502
        assert envelope(response)["message"] == "Internal server error"


def test_an_event_over_the_lambda_payload_limit_is_request_too_large() -> None:
    stand = Stand()
    # base64 makes 4.6 MB of body a 6+ MB invocation payload.
    response = stand.send("POST", "/v1/ingest", body=b" " * (MAX_LAMBDA_PAYLOAD * 3 // 4))
    assert response.status == 413
    assert envelope(response)["message"] in ANSWERS["REQUEST_TOO_LARGE"].body_template
    assert AUTHORIZER in stand.calls  # authorized first, then the invocation is refused
    assert "IngestFunction" not in stand.calls


def test_a_response_over_the_lambda_payload_limit_is_502() -> None:
    def big(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"statusCode": 200, "body": "x" * MAX_LAMBDA_PAYLOAD}

    response = Stand(ListRecordsFunction=big).send("GET", "/v1/conversations/c/records")
    assert response.status == 502


def test_an_unknown_route_is_answered_before_the_authorizer() -> None:
    stand = Stand()
    response = stand.send("PUT", "/v1/ingest", headers=[])
    assert response.status == int(ANSWERS["MISSING_AUTHENTICATION_TOKEN"].status or 0)
    assert stand.calls == {}


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        ("arn:aws:execute-api:local:000000000000:local/local/*", True),
        ("arn:aws:execute-api:local:000000000000:local/local/POST/v1/ingest", True),
        ("arn:aws:execute-api:local:000000000000:local/local/GET/*", False),
        ("arn:aws:execute-api:local:000000000000:local/prod/*", False),
        ("*", True),
    ],
)
def test_policy_resources(resource: str, allowed: bool) -> None:
    arn = "arn:aws:execute-api:local:000000000000:local/local/POST/v1/ingest"
    policy = {
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}]
    }
    assert policy_allows(policy, arn) is allowed
