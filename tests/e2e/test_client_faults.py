"""devtools.client pushes 20,000 events into `python -m devtools.server` while a share of the
server's DynamoDB calls fail, and every event is read back exactly once."""

from __future__ import annotations

import re
import signal
from collections import Counter

import pytest

from devtools.client import ParleyClient
from tests.e2e.conftest import new_key, start_server
from tests.e2e.summaries import wait_for_summaries

pytestmark = pytest.mark.e2e

EVENTS = 20_000
CONVERSATIONS = 20


def test_every_event_stored_exactly_once_through_storage_faults() -> None:
    server = start_server(
        {"bulk": new_key()},
        # A short storage deadline turns the faults a request meets after its first 0.2 s into
        # 503s the client must retry (1% of ~45 calls per request: about a third of them).
        # A request whose claim release met a fault leaves its Idempotency-Key claimed for
        # PARLEY_IDEMPOTENCY_CLAIM_SECONDS (409 retryable meanwhile): shortened like the deadline,
        # or the default 60 s could now and then outlast the client's ten jittered attempts.
        {
            "PARLEY_DEV_STORAGE_FAULTS": "0.01",
            "PARLEY_STORAGE_DEADLINE_SECONDS": "0.2",
            "PARLEY_IDEMPOTENCY_CLAIM_SECONDS": "2",
        },
    )
    try:
        client = ParleyClient(server.base_url, server.keys["bulk"])
        events = (
            {
                "conversation_id": f"bulk-{i % CONVERSATIONS:02d}",
                "role": "user" if i % 2 == 0 else "assistant",
                "message": f"message {i}",
            }
            for i in range(EVENTS)
        )
        result = client.push(events)
        assert (result.events_sent, result.refused, result.stored) == (EVENTS, 0, EVENTS)

        messages: Counter[str] = Counter()
        for n in range(CONVERSATIONS):
            messages.update(r["message"] for r in client.records(f"bulk-{n:02d}"))
        assert len(messages) == EVENTS
        assert set(messages.values()) == {1}
        # Summaries follow from the records stream, their worker meeting the same faults.
        wait_for_summaries(server.base_url, server.keys["bulk"], EVENTS)
        listed = {c["conversationId"] for c in client.conversations()}
        assert listed == {f"bulk-{n:02d}" for n in range(CONVERSATIONS)}
    finally:
        assert server.stop(signal.SIGINT) == 0, server.output
    assert "Storage faults: 1% of DynamoDB calls fail" in server.output
    # The faults reached the client as retryable 503s at least once.
    assert result.retries > 0, server.output[-3000:]
    assert re.search(r"POST /v1/ingest → 503", server.output)
