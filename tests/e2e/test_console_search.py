"""The console's search in a real headless Chromium (Playwright) against `python -m
devtools.server`: the search box on every page, hits with highlighted snippets (text, never
HTML from data), the filters, paging, a hit opening its conversation scrolled to the message,
and another tenant's key finding nothing. Screenshots land in test-artifacts/ (gitignored)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.test_console import shot, sign_in

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 30.0
HOSTILE = '<img src=x onerror="window.pwned=1"> refund for my café order'


@pytest.fixture(scope="module")
def console() -> Iterator[ServerProcess]:
    running = start_server({"viewer": new_key(), "intruder": new_key()})
    try:
        seed(running)
        yield running
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


def seed(server: ServerProcess) -> None:
    key = server.keys["viewer"]
    # A long conversation: the message a hit opens is far below the fold.
    events: list[dict[str, Any]] = [
        {"conversation_id": "long-chat", "role": "assistant", "message": f"filler line {i}"}
        for i in range(40)
    ]
    events.append({"conversation_id": "long-chat", "role": "user", "message": HOSTILE})
    events.append(
        {
            "conversation_id": "staging-chat",
            "role": "assistant",
            "message": "Refunds take five days",
            "environment": "staging",
            "model": "gpt-4o",
        }
    )
    sent = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body={"events": events})
    assert sent.status == 200, sent.body
    created = request(
        "POST",
        f"{server.base_url}/api/v1/conversations",
        key=key,
        json_body={"promptId": "p1", "content": "User: hello\nAssistant: a refund is on its way"},
    )
    assert created.status in (200, 201), created.body
    # Searchable once the lake writer has written the stream's batch (about a second).
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = request("GET", f"{server.base_url}/v1/search?q=refund", key=key)
        if answer.status == 200 and len(answer.body["data"]) == 3:
            return
        time.sleep(0.1)
    pytest.fail(f"the seeded messages were not searchable: {answer.body}")


def search_for(page: Page, words: str) -> None:
    page.get_by_role("searchbox", name="Search messages").fill(words)
    page.locator("#search-form button").click()
    expect(page.locator("#search")).to_be_visible()


def test_search_highlights_filters_and_opens_the_message(
    page: Page, console: ServerProcess
) -> None:
    sign_in(page, console)
    expect(page.locator("#search-form")).to_be_visible()  # on the list page
    search_for(page, "refunds")
    hits = page.locator("#search-results > li")
    expect(hits).to_have_count(3)
    expect(page.locator("#search-status")).to_have_text("3 matching messages")

    hostile = hits.filter(has_text="long-chat")
    # The stored markup is shown as text: no element comes from the data.
    expect(hostile.locator(".snippet")).to_have_text(HOSTILE)
    expect(hostile.locator(".snippet mark")).to_have_text(["refund"])
    assert page.locator("#search-results img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    staging = hits.filter(has_text="staging-chat")
    expect(staging.locator("mark")).to_have_text(["Refunds"])
    shot(page, "search-results")

    # Accents folded: `cafe` finds `café`, highlighted as written.
    search_for(page, "cafe")
    expect(page.locator("#search-results mark")).to_have_text(["café"])

    # The filters, applied from the search page's form.
    search_for(page, "refund")
    page.locator("#s-environment").select_option("staging")
    page.locator("#search-filters button").click()
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("staging-chat")
    assert "environment=staging" in page.url
    page.locator("#s-environment").select_option("")
    page.locator("#s-source").select_option("conversations")
    page.locator("#search-filters button").click()
    expect(hits).to_have_count(1)
    expect(hits.first.locator(".tag")).to_have_text("conversations")
    page.locator("#s-source").select_option("")
    page.locator("#s-role").select_option("user")
    page.locator("#s-model").fill("")
    page.locator("#search-filters button").click()
    expect(hits).to_have_count(1)
    expect(hits.first).to_contain_text("long-chat")
    page.locator("#s-role").select_option("")
    page.locator("#s-model").fill("gpt-4o")
    page.locator("#search-filters button").click()
    expect(hits).to_have_count(1)
    page.locator("#s-model").fill("")
    page.locator("#s-since").fill("2020-01-01")
    page.locator("#s-until").fill("2020-01-02")
    page.locator("#search-filters button").click()
    expect(page.locator("#search-status")).to_have_text("No messages match.")
    page.locator("#s-since").fill("")
    page.locator("#s-until").fill("")
    page.locator("#search-filters button").click()
    expect(hits).to_have_count(3)

    # A hit opens its conversation, scrolled to the message and outlined.
    hits.filter(has_text="long-chat").get_by_role("link").click()
    expect(page.locator("#view")).to_be_visible()
    marked = page.locator("#messages > li.hit")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text("refund for my café order")
    expect(marked).to_be_in_viewport()
    expect(page.locator("#messages > li").first).not_to_be_in_viewport()
    expect(page.locator("#search-form")).to_be_visible()  # on the conversation page too
    shot(page, "search-opened-message")

    # A conversations API hit opens that conversation at its message.
    page.go_back()
    expect(hits).to_have_count(3)
    hits.filter(has_text="conversations").get_by_role("link").click()
    expect(page.locator("#messages > li.hit")).to_contain_text("a refund is on its way")


def test_paging_with_more_results(page: Page, console: ServerProcess) -> None:
    key = console.keys["viewer"]
    events = [
        {"conversation_id": f"page-{i}", "role": "user", "message": f"pagingword {i}"}
        for i in range(30)
    ]
    sent = request("POST", f"{console.base_url}/v1/ingest", key=key, json_body={"events": events})
    assert sent.status == 200
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        answer = request("GET", f"{console.base_url}/v1/search?q=pagingword&limit=100", key=key)
        if len(answer.body["data"]) == 30:
            break
        time.sleep(0.1)
    sign_in(page, console)
    search_for(page, "pagingword")
    hits = page.locator("#search-results > li")
    expect(hits).to_have_count(25)  # the console's page
    page.locator("#search-more").click()
    expect(hits).to_have_count(30)
    expect(page.locator("#search-more")).to_be_hidden()
    ids = hits.locator("a").all_inner_texts()
    assert len(set(ids)) == 30


def test_another_tenant_finds_nothing(page: Page, console: ServerProcess) -> None:
    sign_in(page, console, tenant="intruder")
    search_for(page, "refund")
    expect(page.locator("#search-status")).to_have_text("No messages match.")
    expect(page.locator("#search-results > li")).to_have_count(0)
