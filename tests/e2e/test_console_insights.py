"""The console's insights card in a real headless Chromium: every field the insights API
returns is shown (sentiment, sentimentScore, taskCompleted, topics, issues, summary, analyzer,
createdAt), and an empty list reads "none", never an empty label."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ServerProcess, new_key, start_server, watched_page
from tests.e2e.test_console import shot, sign_in
from tests.e2e.test_conversations_api import BASE, call
from tests.e2e.test_insights_live import wait_for_insights

pytestmark = pytest.mark.e2e

HAPPY = [
    {"role": "user", "content": "How do I export my invoices as PDF?"},
    {"role": "assistant", "content": "Open Billing, then Invoices, and click Export as PDF."},
    {"role": "user", "content": "Perfect, found it. Thank you so much!"},
]
ANGRY = [
    {"role": "user", "content": "This is the third time I ask: where is my refund for order 88?"},
    {"role": "assistant", "content": "I'm sorry, I can't see a refund for that order."},
    {"role": "user", "content": "Unbelievable. Forget it, I'm disputing it with my bank."},
]


@pytest.fixture(scope="module")
def viewer() -> Iterator[ServerProcess]:
    running = start_server({"acme": new_key()})
    try:
        yield running
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser, viewport={"width": 1000, "height": 860}) as opened:
        yield opened


def analyzed(server: ServerProcess, turns: list[dict[str, str]]) -> tuple[str, dict[str, Any]]:
    opened = call(server, "POST", BASE, {"promptId": "prompt_card", "status": "active"})
    assert opened.status == 200, opened.body
    conversation_id: str = opened.body["id"]
    done = call(
        server,
        "POST",
        f"{BASE}/{conversation_id}/messages",
        {"messages": turns, "status": "completed"},
    )
    assert done.status == 200, done.body
    insights = wait_for_insights(server, conversation_id)
    assert insights is not None, "no insights within the bounded wait"
    return conversation_id, insights


def open_card(page: Page, server: ServerProcess, conversation_id: str) -> None:
    sign_in(page, server, "acme")
    page.goto(f"{server.base_url}/#/c/api/{conversation_id}")
    expect(page.locator("#insights")).to_be_visible()


def field(page: Page, name: str) -> str:
    return page.locator(f'#insights dd[data-field="{name}"]').inner_text()


def test_the_card_shows_every_field_and_none_for_an_empty_list(
    page: Page, viewer: ServerProcess
) -> None:
    conversation_id, insights = analyzed(viewer, HAPPY)
    assert insights["issues"] == []  # the case this test is about

    open_card(page, viewer, conversation_id)

    shown = page.locator("#insights dd")
    expect(shown).to_have_count(8)  # every field of the stored insights
    for i in range(8):
        assert shown.nth(i).inner_text().strip(), "an empty value is shown as a blank"
    assert field(page, "sentiment") == insights["sentiment"]
    assert field(page, "sentimentScore").startswith(f"{insights['sentimentScore']:+.2f}")
    assert field(page, "taskCompleted") == "yes"
    assert field(page, "topics") == ", ".join(insights["topics"])
    assert field(page, "issues") == "none"
    assert field(page, "summary") == insights["summary"]
    assert field(page, "analyzer") == "local"
    shot(page, "insights-card")


def test_the_card_lists_issues_and_an_unfinished_task(page: Page, viewer: ServerProcess) -> None:
    conversation_id, insights = analyzed(viewer, ANGRY)

    open_card(page, viewer, conversation_id)

    assert insights["sentiment"] == "negative"
    assert field(page, "taskCompleted") == "no"
    assert field(page, "sentimentScore").startswith("-")
    assert insights["issues"]
    assert field(page, "issues") == ", ".join(insights["issues"])
    shot(page, "insights-card-issues")
