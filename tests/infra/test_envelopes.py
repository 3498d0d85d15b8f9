"""Every function answers in the envelope of the API it is routed on — even for a path its app
does not know (what API Gateway would never send, but a misrouted event might). The OTLP routes
(on the ingest API) answer in OTLP's own, a google.rpc.Status."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from devtools.template import api_routes, load_template
from tests.support import api_event, invoke

OTLP_PATHS = ("/v1/traces", "/v1/metrics", "/v1/logs")

ROUTED = {(r.function.logical_id, r.function, r.api) for r in api_routes(load_template())}
OTLP = {r.function.logical_id for r in api_routes(load_template()) if r.path in OTLP_PATHS}


@pytest.mark.parametrize(
    ("function", "api"),
    [(f, a) for _, f, a in sorted(ROUTED, key=lambda r: r[0])],
    ids=lambda v: getattr(v, "logical_id", v),
)
def test_function_answers_in_its_apis_envelope(dynamodb: Any, function: Any, api: str) -> None:
    handler = getattr(importlib.import_module(function.module_name), function.attribute)
    answer = invoke(handler, api_event("GET", "/no/such/path"))
    assert answer.status == 404
    if function.logical_id in OTLP:
        assert set(answer.body) == {"code", "message"}, answer.body
        assert answer.body["code"] == 5  # NOT_FOUND
    elif api == "ConversationsApi":
        assert set(answer.body) == {"error"}, answer.body
        assert answer.body["error"]["code"] == "NOT_FOUND"
    else:
        assert answer.body["success"] is False, answer.body
        assert answer.body["retryable"] is False
