"""The web console in a real headless Chromium (Debian's package, driven by Playwright),
against `python -m devtools.server`: sign in, list, open each kind of conversation, filter,
page, wrong key, tenants kept apart. Screenshots land in test-artifacts/ (gitignored)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.client import request
from tests.e2e.conftest import ROOT, ServerProcess, new_key, start_server
from tests.e2e.summaries import wait_for_summaries
from tests.seeds import body_text

pytestmark = pytest.mark.e2e

ARTIFACTS = ROOT / "test-artifacts"
PAGE_SIZE = 25  # the console's page (app.js PAGE)
TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAEhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def console() -> Iterator[ServerProcess]:
    """A server of its own: the list assertions need tenants no other test writes to."""
    running = start_server({"viewer": new_key(), "intruder": new_key()})
    try:
        seed(running.base_url, running.keys["viewer"])
        yield running
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


def seed(base: str, key: str) -> None:
    stored = 0  # records: the list waits until their summaries count them all
    for name, path in [
        ("ingest_standard", "/v1/ingest"),
        ("ingest_mixed", "/v1/ingest"),
        ("ingest_email_call", "/v1/ingest"),
        ("ingest_multi_mixed", "/v1/ingest/multi"),
        ("ingest_vogent_raw_call", "/v1/ingest/vogent-raw"),
    ]:
        reply = request("POST", base + path, key=key, data=body_text(name))
        assert reply.status in (200, 201), (name, reply.body)
        stored += reply.body["count"]
    blocks = {
        "events": [
            {
                "conversation_id": "blocks-1",
                "role": "assistant",
                "model": "claude-x",
                "input_tokens": 11,
                "output_tokens": 22,
                "content": [
                    {"type": "thinking", "text": "The user wants the weather."},
                    {"type": "text", "text": "Let me look that up."},
                    {
                        "type": "tool_use",
                        "tool_name": "get_weather",
                        "tool_use_id": "tu_1",
                        "input": {"city": "Oslo"},
                    },
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG},
                    },
                ],
            },
            {
                "conversation_id": "blocks-1",
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "tu_1", "content": "4 °C, rain"}
                ],
            },
        ]
    }
    # Enough conversations for a second page, in their own environment so the filter finds them.
    paged = {
        "environment": "development",
        "events": [
            {"conversation_id": f"paged-{i:02d}", "role": "user", "message": f"hello {i}"}
            for i in range(PAGE_SIZE + 5)
        ],
    }
    for body in (blocks, paged):
        reply = request("POST", base + "/v1/ingest", key=key, json_body=body)
        assert reply.status == 200, reply.body
        stored += reply.body["count"]
    # The summaries worker runs off the records stream, a moment after each 200.
    wait_for_summaries(base, key, stored)
    # Last, so the newest activity of all is on the conversations API.
    created = request(
        "POST", base + "/api/v1/conversations", key=key, data=body_text("conversations_create")
    )
    assert created.status == 200, created.body


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def sign_in(page: Page, server: ServerProcess, tenant: str = "viewer") -> None:
    page.goto(server.base_url + "/")
    page.get_by_label("API key").fill(server.keys[tenant])
    page.locator("#sign-in-form button").click()
    expect(page.locator("#dashboard")).to_be_visible()  # the first page after signing in


def open_list(page: Page) -> None:
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Conversations").click()
    expect(page.locator("#list")).to_be_visible()


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def test_wrong_key_shows_a_clear_message(page: Page, console: ServerProcess) -> None:
    page.goto(console.base_url + "/")
    page.get_by_label("API key").fill("prl_not-a-real-key-0000000000000000000000")
    page.locator("#sign-in-form button").click()
    expect(page.locator("#sign-in-error")).to_contain_text("was not accepted")
    expect(page.locator("#list")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_sign_in_lists_both_apis_newest_first(page: Page, console: ServerProcess) -> None:
    sign_in(page, console)
    open_list(page)
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(PAGE_SIZE)
    # The conversations API's conversation was created after every ingest: it comes first.
    expect(rows.first).to_contain_text("conversations API")
    expect(rows.first).to_contain_text("completed")
    times = rows.locator("time").evaluate_all("nodes => nodes.map(n => n.dateTime)")
    assert times == sorted(times, reverse=True)
    # The key is kept in this tab only, never in the URL.
    assert console.keys["viewer"] not in page.url
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.getItem('parley.apiKey')") == console.keys["viewer"]
    shot(page, "list")


def test_paging_and_filters(page: Page, console: ServerProcess) -> None:
    sign_in(page, console)
    open_list(page)
    page.locator("#filters").get_by_label("Environment").select_option("development")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(PAGE_SIZE)
    page.get_by_role("button", name="Load more").click()
    expect(rows).to_have_count(PAGE_SIZE + 5)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()
    ids = rows.locator("td:first-child a").all_inner_texts()
    assert sorted(ids) == [f"paged-{i:02d}" for i in range(PAGE_SIZE + 5)]

    page.locator("#filters").get_by_label("Environment").select_option("")
    page.locator("#filters").get_by_label("Source").select_option("email")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(2)  # conv-456, and the staging thread of the multi batch
    for text in rows.all_inner_texts():
        assert "email" in text

    page.locator("#filters").get_by_label("Source").select_option("")
    page.locator("#filters").get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("conversations API")


def open_conversation(page: Page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.locator("#view-title")).to_contain_text(name)
    expect(page.locator("#messages > li").first).to_be_visible()


def test_open_each_kind_of_conversation(page: Page, console: ServerProcess) -> None:
    sign_in(page, console)
    open_list(page)
    page.locator("#filters").get_by_label("Environment").select_option("production")
    page.get_by_role("button", name="Apply").click()
    messages = page.locator("#messages > li")

    open_conversation(page, "conv-abc123")  # chat, the /v1/ingest docs' example
    expect(messages).to_have_count(2)
    expect(messages.nth(0)).to_have_class("msg user")
    expect(messages.nth(1)).to_contain_text("gpt-4o")
    expect(messages.nth(1)).to_contain_text("tokens 8 in · 12 out")
    raw = messages.nth(0).get_by_role("button", name="Raw JSON")
    raw.click()
    shown = json.loads(messages.nth(0).locator("pre").inner_text())
    assert shown["message"] == "Hello, how are you?"

    page.go_back()
    open_conversation(page, "blocks-1")  # content blocks
    thinking = page.locator("details.thinking")
    expect(thinking).not_to_have_attribute("open", "")
    expect(page.locator(".tool-pair")).to_contain_text("get_weather")
    expect(page.locator(".tool-pair")).to_contain_text("4 °C, rain")  # result paired with call
    expect(page.locator("img.block")).to_have_attribute("src", f"data:image/png;base64,{TINY_PNG}")
    shot(page, "blocks")

    page.go_back()
    open_conversation(page, "conv-456")  # email
    expect(page.locator(".email-head")).to_contain_text("Re: Order #12345")
    expect(page.locator(".email-head")).to_contain_text("From support@example.com")

    page.go_back()
    open_conversation(page, "call-session-456")  # call transcript
    expect(page.locator(".turns li")).to_have_count(3)

    page.go_back()
    open_conversation(page, "session-456")  # vogent utterances with a function call
    expect(messages).to_have_count(4)
    expect(messages.nth(2)).to_contain_text("lookup_account")
    expect(page.locator(".tool-pair")).to_have_count(1)
    shot(page, "vogent")

    page.goto(console.base_url + "/#/conversations")
    page.locator("#filters").get_by_label("Environment").select_option("")
    page.get_by_role("button", name="Apply").click()
    page.locator("#rows tr").first.get_by_role("link").click()  # the conversations API's
    expect(page.locator("#view-meta")).to_contain_text("conversations API")
    expect(messages.first).to_be_visible()
    link = page.url
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#copied")).not_to_be_empty()
    assert console.keys["viewer"] not in link


def test_another_tenant_sees_nothing(page: Page, console: ServerProcess) -> None:
    sign_in(page, console, tenant="intruder")
    open_list(page)
    expect(page.locator("#list-empty")).to_be_visible()
    expect(page.locator("#rows tr")).to_have_count(0)
    page.goto(console.base_url + "/#/c/ingest/conv-abc123")
    expect(page.locator("#view-error")).to_contain_text("no records")
    reply = request("GET", console.base_url + "/v1/conversations", key=console.keys["intruder"])
    assert reply.status == 200
    assert reply.body["data"] == []


def test_console_is_public_but_data_is_not(console: ServerProcess) -> None:
    page = request("GET", console.base_url + "/")
    assert page.status == 200
    assert "<title>Parley console</title>" in page.body
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert request("GET", console.base_url + "/console/app.js").status == 200
    assert request("GET", console.base_url + "/console/nope.js").status == 404
    assert request("GET", console.base_url + "/v1/conversations").status == 401
