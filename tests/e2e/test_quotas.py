"""Daily quotas through `make dev` (docs/security.md "Quotas"): a tenant over its event or byte
quota gets 429 with Retry-After and the quota in the error, on every write route, while other
tenants go on; and the usage counter holds every accepted request's count exactly when many
arrive at once."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from devtools.local import local_table
from tests.e2e.client import Reply, request
from tests.e2e.conftest import ServerProcess, new_key, start_server

pytestmark = pytest.mark.e2e

QUOTAS = {
    "few-events": {"eventsPerDay": 5, "bytesPerDay": 10_000_000},
    "few-bytes": {"eventsPerDay": 1_000_000, "bytesPerDay": 1_500},
    "busy": {"eventsPerDay": 100, "bytesPerDay": 10_000_000},
}


@pytest.fixture(scope="module")
def quota_server() -> Iterator[ServerProcess]:
    tenants = [*QUOTAS, "roomy"]
    running = start_server(
        {tenant: new_key() for tenant in tenants},
        {
            "PARLEY_TENANT_QUOTAS": json.dumps(QUOTAS),
            # "roomy" has no quota of its own: its keys carry no plan, so "default" applies.
            "PARLEY_PLAN_QUOTAS": json.dumps(
                {"default": {"eventsPerDay": 1_000_000, "bytesPerDay": 100_000_000}}
            ),
            # Every count written at once, so the test reads exact totals from the table.
            "PARLEY_USAGE_FLUSH_SECONDS": "0",
        },
    )
    yield running
    assert running.stop(signal.SIGINT) == 0, running.output


def call(server: ServerProcess, tenant: str, path: str, body: Any) -> Reply:
    return request("POST", server.base_url + path, key=server.keys[tenant], json_body=body)


def events(count: int, conversation: str = "quota", text: str = "hello") -> dict[str, Any]:
    return {
        "events": [
            {
                "messageType": "channel",
                "id": f"{conversation}-{i}",
                "conversationId": conversation,
                "role": "user",
                "message": text,
            }
            for i in range(count)
        ]
    }


def seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def assert_quota_refusal(reply: Reply, quota: dict[str, int]) -> None:
    assert reply.status == 429, reply.body
    retry_after = int(reply.headers["retry-after"])
    assert 1 <= retry_after <= seconds_to_midnight() + 2
    assert reply.body["retryable"] is True
    assert reply.body["quota"] == quota
    assert "Daily quota reached" in reply.body["message"]


def usage(server: ServerProcess, tenant: str) -> tuple[int, int]:
    client = boto3.client("dynamodb", endpoint_url=server.dynamodb_endpoint)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    item = client.get_item(
        TableName=local_table("USAGE_TABLE"), Key={"pk": {"S": f"{tenant}#{day}"}}
    ).get("Item")
    assert item is not None, f"no usage stored for {tenant}"
    return int(item["events"]["N"]), int(item["bytes"]["N"])


def test_over_the_event_quota_is_429_with_retry_after_and_other_tenants_go_on(
    quota_server: ServerProcess,
) -> None:
    assert call(quota_server, "few-events", "/v1/ingest", events(3, "e1")).status == 200
    # 3 + 3 > 5: refused whole, nothing stored.
    assert_quota_refusal(
        call(quota_server, "few-events", "/v1/ingest", events(3, "e2")), QUOTAS["few-events"]
    )
    # What still fits is taken: 3 + 2 = 5.
    assert call(quota_server, "few-events", "/v1/ingest", events(2, "e3")).status == 200
    assert_quota_refusal(
        call(quota_server, "few-events", "/v1/ingest", events(1, "e4")), QUOTAS["few-events"]
    )
    # The refused request stored nothing.
    records = request(
        "GET",
        quota_server.base_url + "/v1/conversations/e2/records",
        key=quota_server.keys["few-events"],
    )
    assert records.status == 200
    assert records.body["data"] == []
    # Another tenant is not affected.
    assert call(quota_server, "roomy", "/v1/ingest", events(10, "r1")).status == 200
    assert usage(quota_server, "few-events")[0] == 5


def test_over_the_byte_quota_is_429_on_every_write_route(quota_server: ServerProcess) -> None:
    small = call(quota_server, "few-bytes", "/v1/ingest", events(1, "b1"))
    assert small.status == 200
    big = events(1, "b2", "x" * 2_000)
    assert_quota_refusal(call(quota_server, "few-bytes", "/v1/ingest", big), QUOTAS["few-bytes"])
    # The conversations API answers in its own envelope, with the same quota.
    created = call(
        quota_server,
        "few-bytes",
        "/api/v1/conversations",
        {"promptId": "q", "content": "User: " + "y" * 2_000},
    )
    assert created.status == 429
    assert created.headers["retry-after"]
    assert created.body["error"]["code"] == "QUOTA_EXCEEDED"
    assert created.body["error"]["quota"] == QUOTAS["few-bytes"]
    runs = call(
        quota_server,
        "few-bytes",
        "/api/v1/runs",
        {"messages": [{"role": "user", "content": "z" * 2_000}]},
    )
    assert runs.status == 429
    assert runs.headers["retry-after"]
    # OTLP answers a google.rpc.Status: RESOURCE_EXHAUSTED.
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "s" * 2_000,
        "kind": 1,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
    }
    traces = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    exported = call(quota_server, "few-bytes", "/v1/traces", traces)
    assert exported.status == 429, exported.body
    assert exported.headers["retry-after"]
    assert exported.body["code"] == 8
    # Another tenant writes the same bodies.
    assert call(quota_server, "roomy", "/v1/ingest", big).status == 200
    again = call(
        quota_server, "roomy", "/api/v1/conversations", {"promptId": "q", "content": "User: hi"}
    )
    assert again.status == 200, again.body


def test_the_counter_holds_every_request_under_concurrency(quota_server: ServerProcess) -> None:
    bodies = [events(4, f"c{i}") for i in range(25)]  # 25 x 4 = the quota of 100, exactly
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(
            pool.map(lambda body: call(quota_server, "busy", "/v1/ingest", body), bodies)
        )
    assert [r.status for r in replies] == [200] * 25, [r.body for r in replies if r.status != 200]
    sent_bytes = sum(len(json.dumps(body).encode()) for body in bodies)
    assert usage(quota_server, "busy") == (100, sent_bytes)
    assert_quota_refusal(
        call(quota_server, "busy", "/v1/ingest", events(1, "c-over")), QUOTAS["busy"]
    )
    assert usage(quota_server, "busy") == (100, sent_bytes)  # a refusal is not counted
