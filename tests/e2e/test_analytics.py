"""GET /api/v1/analytics on a real `python -m devtools.server`: messages sent to /v1/ingest
reach the lake through the local stream runner's lake writer, then count in the analytics
answer, for their tenant only."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 30.0  # generous for a loaded machine; make dev takes about a second


@pytest.fixture(scope="module")
def dev() -> Iterator[tuple[ServerProcess, str]]:
    tenant = f"stats{uuid.uuid4().hex[:8]}"
    running = start_server({tenant: new_key(), f"{tenant}-other": new_key()})
    yield running, tenant
    assert running.stop() == 0, running.output
    assert "Traceback" not in running.output, running.output


def analytics(server: ServerProcess, key: str, query: str) -> Any:
    answer = request("GET", f"{server.base_url}/api/v1/analytics?{query}", key=key)
    assert answer.status == 200, answer.body
    return answer.body["data"]


def test_ingested_messages_are_charted_by_environment_and_model(
    dev: tuple[ServerProcess, str],
) -> None:
    server, tenant = dev
    key = server.keys[tenant]
    run = uuid.uuid4().hex[:6]
    for environment, count in (("production", 3), ("staging", 2)):
        events = [
            {
                "conversation_id": f"{environment}-{run}",
                "role": "assistant",
                "message": f"answer {n}",
                "model": "gpt-4o",
                "input_tokens": 100,
                "output_tokens": 10,
            }
            for n in range(count)
        ]
        body = {"environment": environment, "events": events}
        sent = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body=body)
        assert sent.status == 200, sent.body

    by_environment = "metric=messages&groupBy=environment"
    expected = [
        {"environment": "production", "value": 3},
        {"environment": "staging", "value": 2},
    ]
    deadline = time.monotonic() + WAIT_SECONDS
    while analytics(server, key, by_environment) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    assert analytics(server, key, by_environment) == expected

    assert analytics(server, key, "metric=tokens&groupBy=model") == [
        {"model": "gpt-4o", "value": 550, "inputTokens": 500, "outputTokens": 50}
    ]
    assert analytics(server, key, "metric=conversations&environment=staging") == [{"value": 1}]
    other = server.keys[f"{tenant}-other"]
    assert analytics(server, other, "metric=messages") == [{"value": 0}]
    # By cluster: clustered or not yet (null), every message counts once (docs/clusters.md).
    by_cluster = analytics(server, key, "metric=messages&groupBy=cluster")
    assert sum(row["value"] for row in by_cluster) == 5
    assert all(set(row) == {"cluster", "value"} for row in by_cluster)
