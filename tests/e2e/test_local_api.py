"""The local server (`make dev`) end to end: HTTP → gateway emulation → real authorizer and
handlers → embedded DynamoDB. Request bodies are the seeds' own examples."""

from __future__ import annotations

import gzip
import json
import signal
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from devtools.template import gateway_responses, load_template
from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess, start_server
from tests.seeds import SEED_000_CURL, SEED_000_MIXED, SEED_002_MIXED, SEED_003_CALL

pytestmark = pytest.mark.e2e

INVALID_KEY = "Invalid or missing API key"


def unique(prefix: str = "conv") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def with_ids(body: str, renames: dict[str, str]) -> str:
    """A seed body with some ids (JSON strings) swapped for fresh ones."""
    for old, new in renames.items():
        body = body.replace(f'"{old}"', f'"{new}"')
    return body


def post(server: ServerProcess, path: str, body: str | bytes, tenant: str = "acme") -> Reply:
    return request("POST", server.base_url + path, key=server.keys[tenant], data=body)


def records(server: ServerProcess, conversation: str, tenant: str = "acme", **query: str) -> Any:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    url = f"{server.base_url}/v1/conversations/{quote(conversation, safe='')}/records?{qs}"
    reply = request("GET", url, key=server.keys[tenant])
    assert reply.status == 200, reply.body
    assert reply.headers["x-request-id"] == reply.headers["x-amzn-requestid"]
    return reply.body["data"]


def assert_success(reply: Reply, count: int, details: dict[str, int] | None = None) -> None:
    assert reply.status == 200, reply.body
    assert reply.body["success"] is True
    assert reply.body["count"] == count
    # The gateway's request id reaches the function and comes back three ways.
    assert reply.body["requestId"] == reply.headers["x-amzn-requestid"]
    assert reply.headers["x-request-id"] == reply.headers["x-amzn-requestid"]
    if details is None:
        assert "details" not in reply.body
    else:
        assert reply.body["details"] == details


# --- ingest: the seeds' examples -------------------------------------------------------------


def test_seed_000_curl_example(server: ServerProcess) -> None:
    assert_success(post(server, "/v1/ingest", SEED_000_CURL), 2)


def test_seed_000_mixed_batch(server: ServerProcess) -> None:
    reply = post(server, "/v1/ingest", SEED_000_MIXED)
    assert_success(
        reply,
        3,
        {"channel": 1, "tool_call": 1, "email": 0, "call": 0, "call_transcript_messages": 0},
    )


def test_seed_002_multi_mixed_batch_in_staging(server: ServerProcess) -> None:
    conversation = unique()
    reply = post(server, "/v1/ingest/multi", with_ids(SEED_002_MIXED, {"conv-123": conversation}))
    assert_success(
        reply,
        4,
        {"channel": 2, "tool_call": 1, "email": 1, "call": 0, "call_transcript_messages": 0},
    )
    stored = records(server, conversation, environment="staging")
    assert [r["message_source"] for r in stored] == ["channel", "tool_call", "channel"]
    assert {r["environment"] for r in stored} == {"staging"}
    assert records(server, conversation, environment="production") == []


def test_seed_003_vogent_raw_call(server: ServerProcess) -> None:
    session = unique("session")
    reply = post(server, "/v1/ingest/vogent-raw", with_ids(SEED_003_CALL, {"session-456": session}))
    assert_success(reply, 4, {"calls": 1, "utterances": 3, "function_calls": 1})
    stored = records(server, session)
    assert [(r["message_source"], r.get("role")) for r in stored] == [
        ("call", "assistant"),
        ("call", "user"),
        ("tool_call", "assistant"),
        ("call", "assistant"),
    ]
    assert [r["trace_id"] for r in stored] == [f"call-abc-123_{i}" for i in range(4)]


def test_gzip_body(server: ServerProcess) -> None:
    reply = request(
        "POST",
        server.base_url + "/v1/ingest",
        key=server.keys["acme"],
        data=gzip.compress(SEED_000_CURL.encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert_success(reply, 2)


# --- reading back ----------------------------------------------------------------------------


def test_records_come_back_normalized_in_order(server: ServerProcess) -> None:
    conversation = unique()
    reply = post(server, "/v1/ingest", with_ids(SEED_000_CURL, {"conv-abc123": conversation}))
    assert_success(reply, 2)
    first, second = records(server, conversation)
    assert first["role"] == "user"
    assert first["message"] == "Hello, how are you?"
    assert second["role"] == "assistant"
    assert second["message"] == "I am doing well, thank you for asking!"
    assert (second["model"], second["provider"]) == ("gpt-4o", "openai")
    assert (second["input_tokens"], second["output_tokens"]) == (8, 12)
    for record in (first, second):
        assert record["conversation_id"] == record["trace_id"] == conversation
        assert record["message_source"] == "chat"
        assert record["environment"] == "production"
        assert record["has_tool_use"] is False
        assert record["request_id"] == reply.body["requestId"]
        assert record["timestamp"].endswith("Z")


def test_keyed_resends_are_stored_once_and_repeated_turns_twice(server: ServerProcess) -> None:
    conversation = unique()
    body = with_ids(SEED_000_CURL, {"conv-abc123": conversation})
    url, key = server.base_url + "/v1/ingest", server.keys["acme"]
    idempotency = {"Idempotency-Key": unique("key")}
    first = request("POST", url, key=key, data=body, headers=idempotency)
    assert_success(first, 2)
    again = request("POST", url, key=key, data=body, headers=idempotency)
    assert (again.status, again.body) == (200, first.body)
    assert again.headers["x-request-id"] == first.body["requestId"]  # the answer replayed
    # Without a key, id or timestamp the same words sent again are new turns (docs/guarantees.md).
    assert_success(post(server, "/v1/ingest", body), 2)
    messages = [r["message"] for r in records(server, conversation)]
    assert messages == 2 * [json.loads(body)["events"][0]["message"], messages[1]]


def test_tenants_do_not_see_each_others_records(server: ServerProcess) -> None:
    conversation = unique()
    assert_success(
        post(server, "/v1/ingest", with_ids(SEED_000_CURL, {"conv-abc123": conversation})), 2
    )
    assert len(records(server, conversation, tenant="acme")) == 2
    assert records(server, conversation, tenant="globex") == []


def ingest_and_read(server: ServerProcess, conversation: str) -> list[str]:
    event = {"conversation_id": conversation, "role": "user", "message": "hi"}
    assert_success(post(server, "/v1/ingest", json.dumps({"events": [event]})), 1)
    return [r["conversation_id"] for r in records(server, conversation)]


def test_path_parameters_are_url_decoded(server: ServerProcess) -> None:
    conversation = f"conv {uuid.uuid4().hex[:6]} ü@x+y%z"
    assert ingest_and_read(server, conversation) == [conversation]


def test_a_conversation_id_with_a_slash_can_be_read_back(server: ServerProcess) -> None:
    conversation = f"team/{uuid.uuid4().hex[:6]}"
    assert ingest_and_read(server, conversation) == [conversation]


# --- the gateway's own answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer prl_" + "x" * 43,  # well-formed, unknown
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer not-a-key",
        "",
    ],
    ids=["missing", "unknown", "basic", "malformed", "empty"],
)
def test_missing_or_unknown_key_is_401(server: ServerProcess, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = request("POST", server.base_url + "/v1/ingest", data=SEED_000_CURL, headers=headers)
    reply.assert_envelope(401, INVALID_KEY)
    assert reply.body["retryable"] is False
    assert set(reply.body) == {"success", "count", "message", "requestId", "retryable"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nope"),
        ("GET", "/v1/ingest"),
        ("DELETE", "/v1/conversations/c1/records"),
        ("POST", "/"),
    ],
)
def test_unknown_route_is_404(server: ServerProcess, method: str, path: str) -> None:
    # No key needed: API Gateway finds the route before it asks the authorizer.
    reply = request(method, server.base_url + path, data=b"{}" if method == "POST" else None)
    reply.assert_envelope(404, "No such route: check the method and path")


def test_body_over_the_gateway_limit_is_413(server: ServerProcess) -> None:
    answer = gateway_responses(load_template(), "IngestApi")["REQUEST_TOO_LARGE"]
    reply = post(server, "/v1/ingest", b" " * (10 * 1024 * 1024 + 1))
    reply.assert_envelope(413)
    assert reply.body["message"] in answer.body_template


def test_decompressed_body_over_5_mb_is_the_functions_413(server: ServerProcess) -> None:
    padding = " " * (5 * 1024 * 1024)
    reply = request(
        "POST",
        server.base_url + "/v1/ingest",
        key=server.keys["acme"],
        data=gzip.compress(SEED_000_CURL.replace("{", "{" + padding, 1).encode()),
        headers={"Content-Encoding": "gzip"},
    )
    reply.assert_envelope(413)
    assert "5,242,880" in reply.body["message"]


# --- lifecycle -------------------------------------------------------------------------------


def test_sigterm_stops_the_server_cleanly_and_a_dev_key_is_made_by_default() -> None:
    fresh = start_server()  # no PARLEY_DEV_KEYS: one new key for tenant "dev", printed
    try:
        printed = [line for line in fresh.lines if line.strip().startswith("dev: prl_")]
        assert printed, fresh.output
        key = printed[0].split()[1]
        assert f"Bearer {key}" in fresh.output  # the ready-to-paste curl example
        reply = request("POST", fresh.base_url + "/v1/ingest", key=key, data=SEED_000_CURL)
        assert_success(reply, 2)
        assert fresh.state_file.exists()
    finally:
        code = fresh.stop(signal.SIGTERM)
    assert code == 0, fresh.output
    assert not fresh.state_file.exists()  # the CLI must not find a stopped server
    assert "Traceback" not in fresh.output, fresh.output
