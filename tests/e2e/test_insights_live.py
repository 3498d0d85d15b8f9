"""Insights on `make dev`: completing a linked conversation yields insights within seconds
(the stream runner feeds the real worker); an unlinked one never gets them."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import ServerProcess
from tests.e2e.test_conversations_api import BASE, call

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 15.0  # bounded wait; measured latency is in docs/insights.md

TURNS = [
    {"role": "user", "content": "My order 5531 has not arrived, can you check the delivery?"},
    {"role": "assistant", "content": "I checked with the carrier: it is out for delivery today."},
    {"role": "user", "content": "Great, thanks a lot!"},
]


def wait_for_insights(server: ServerProcess, conversation_id: str) -> dict[str, Any] | None:
    until = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < until:
        reply = call(server, "GET", f"{BASE}/{conversation_id}/insights")
        if reply.status == 200:
            body: dict[str, Any] = reply.body
            return body
        assert reply.status == 404, reply.body
        time.sleep(0.05)
    return None


def open_and_complete(server: ServerProcess, link: dict[str, str]) -> str:
    opened = call(server, "POST", BASE, {**link, "status": "active"})
    assert opened.status == 200, opened.body
    conversation_id: str = opened.body["id"]
    completed = call(
        server,
        "POST",
        f"{BASE}/{conversation_id}/messages",
        {"messages": TURNS, "status": "completed"},
    )
    assert completed.status == 200, completed.body
    return conversation_id


def test_completing_a_linked_conversation_yields_insights(server: ServerProcess) -> None:
    conversation_id = open_and_complete(server, {"promptId": "prompt_live"})

    insights = wait_for_insights(server, conversation_id)

    assert insights is not None, "no insights within the bounded wait"
    assert insights["conversationId"] == conversation_id
    assert insights["sentiment"] == "positive"
    assert insights["taskCompleted"] is True
    assert insights["analyzer"] == "local"
    got = call(server, "GET", f"{BASE}/{conversation_id}").body
    assert got["hasInsights"] is True
    assert got["insights"]["summary"] == insights["summary"]
    listed = call(server, "GET", f"{BASE}?hasInsights=true&promptId=prompt_live").body
    assert conversation_id in [c["id"] for c in listed["data"]]


def test_agent_name_links_a_conversation_for_insights(server: ServerProcess) -> None:
    conversation_id = open_and_complete(server, {"promptName": "Support", "agentName": "helper"})
    assert wait_for_insights(server, conversation_id) is not None


def test_an_unlinked_conversation_is_never_analyzed(server: ServerProcess) -> None:
    unlinked = open_and_complete(server, {"promptName": "Free text only"})
    linked = open_and_complete(server, {"promptId": "prompt_after"})

    # The linked one, completed after it, has its insights: the unlinked one was passed over.
    assert wait_for_insights(server, linked) is not None
    reply = call(server, "GET", f"{BASE}/{unlinked}/insights")
    assert reply.status == 404
    assert "never analyzed" in reply.body["error"]["message"]
    assert call(server, "GET", f"{BASE}/{unlinked}").body["hasInsights"] is False
