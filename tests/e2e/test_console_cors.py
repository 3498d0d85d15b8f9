"""The web console with the APIs split as deployed (each its own origin): loaded from the ingest
API's origin, it lists and opens a conversations-API conversation through CORS, in Debian's
Chromium. `PARLEY_DEV_SPLIT_ORIGINS=1` serves the conversations API on a port of its own."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.summaries import wait_for_summaries
from tests.e2e.test_console import shot

pytestmark = pytest.mark.e2e

_ORIGIN_LINE = re.compile(r"^\s+ConversationsApi: (http://\S+)$")


def conversations_origin(server: ServerProcess) -> str:
    found = [m[1] for line in server.lines if (m := _ORIGIN_LINE.match(line))]
    assert found, server.output
    return found[0]


@pytest.fixture(scope="module")
def split() -> Iterator[tuple[ServerProcess, str]]:
    """(server, the conversations API's origin), with one conversation in each API."""
    running = start_server({"viewer": new_key()}, {"PARLEY_DEV_SPLIT_ORIGINS": "1"})
    try:
        origin = conversations_origin(running)
        assert origin != running.base_url
        key = running.keys["viewer"]
        chat = {"events": [{"conversation_id": "ingest-1", "role": "user", "message": "Hi"}]}
        assert request("POST", running.base_url + "/v1/ingest", key=key, json_body=chat).status
        # The ingest conversation is listed once the summaries worker has read the records stream.
        wait_for_summaries(running.base_url, key, 1)
        created = request(
            "POST",
            origin + "/api/v1/conversations",
            key=key,
            json_body={
                "promptId": "prompt_cors",
                "content": "User: Where is my parcel?\nAssistant: It left the depot today.",
                "status": "completed",
            },
        )
        assert created.status == 200, created.body
        yield running, origin
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # A CORS or CSP refusal is reported on the browser's console.
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not [e for e in errors if "CORS" in e or "Content Security Policy" in e], errors


def sign_in(page: Page, server: ServerProcess, key: str) -> None:
    page.goto(server.base_url + "/#/conversations")  # the list (the dashboard is "/")
    page.get_by_label("API key").fill(key)
    page.locator("#sign-in-form button").click()


def test_lists_and_opens_a_conversations_api_conversation_across_origins(
    page: Page, split: tuple[ServerProcess, str]
) -> None:
    server, origin = split
    across: list[str] = []
    page.on("requestfinished", lambda r: across.append(r.url) if r.url.startswith(origin) else None)
    sign_in(page, server, server.keys["viewer"])
    rows = page.locator("#rows tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("conversations API")  # created last: newest first
    expect(rows.nth(1)).to_contain_text("ingest-1")
    rows.first.get_by_role("link").click()
    expect(page.locator("#view-meta")).to_contain_text("conversations API")
    expect(page.locator("#messages > li")).to_have_count(2)
    expect(page.locator("#messages")).to_contain_text("It left the depot today.")
    shot(page, "cross-origin")
    assert any("/api/v1/conversations/conv_" in url for url in across), across


def test_wrong_key_is_a_clear_message_across_origins(
    page: Page, split: tuple[ServerProcess, str]
) -> None:
    server, origin = split
    with page.expect_response(lambda r: r.url.startswith(origin)) as answer:
        sign_in(page, server, "prl_not-a-real-key-0000000000000000000000")
    assert answer.value.status == 401  # the conversations API's gateway answer
    expect(page.locator("#sign-in-error")).to_contain_text("was not accepted")

    # A key that stops working while signed in, read on the conversations API only: its 401
    # must be readable across origins (a CORS failure would read "Could not load…").
    sign_in(page, server, server.keys["viewer"])
    expect(page.locator("#rows tr")).to_have_count(2)
    href = page.locator("#rows tr").first.get_by_role("link").get_attribute("href")
    page.evaluate("sessionStorage.setItem('parley.apiKey', 'prl_revoked-000000000000000000000000')")
    page.goto(server.base_url + "/" + str(href))
    expect(page.locator("#sign-in-error")).to_contain_text("no longer accepted")


def test_only_the_console_origin_may_read_the_conversations_api(
    split: tuple[ServerProcess, str],
) -> None:
    server, origin = split
    key = server.keys["viewer"]
    path = origin + "/api/v1/conversations"
    console = request("GET", path, key=key, headers={"Origin": server.base_url})
    assert console.headers["access-control-allow-origin"] == server.base_url
    assert console.headers["access-control-expose-headers"] == "Retry-After"
    other = request("GET", path, key=key, headers={"Origin": "https://evil.example"})
    assert not [h for h in other.headers if h.startswith("access-control-")], other.headers
    preflight = request(
        "OPTIONS",
        path,
        headers={"Origin": server.base_url, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status == 200  # no key on a preflight: the authorizer is not asked
    assert preflight.headers["access-control-allow-origin"] == server.base_url
    assert preflight.headers["access-control-allow-methods"] == "GET"
    assert preflight.headers["access-control-allow-headers"] == "Authorization"
    page = request("GET", server.base_url + "/")
    assert f"connect-src 'self' {origin};" in page.headers["content-security-policy"]
    assert f'content="{origin}"' in page.body


def test_the_dashboard_reads_analytics_across_origins(
    browser: Browser, split: tuple[ServerProcess, str]
) -> None:
    server, origin = split
    # Charted once the lake has both conversations and the insights of the completed one.
    charted = f"{origin}/api/v1/analytics?metric=sentiment&groupBy=source"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = request("GET", charted, key=server.keys["viewer"])
        if answer.status == 200 and [r["conversations"] for r in answer.body["data"]] == [1]:
            break
        time.sleep(0.2)
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    across: list[str] = []
    page.on("requestfinished", lambda r: across.append(r.url) if r.url.startswith(origin) else None)
    try:
        page.goto(server.base_url + "/")  # the dashboard: the first page after signing in
        page.get_by_label("API key").fill(server.keys["viewer"])
        page.locator("#sign-in-form button").click()
        expect(page.locator("#dashboard")).to_be_visible()
        loading = page.locator("#charts .chart-status", has_text="Loading…")
        expect(loading).to_have_count(0, timeout=30_000)
        # Drawn from the conversations API's origin, its answers read through CORS.
        expect(page.locator("#chart-volume-source .plot")).to_be_visible()
        for chart in ("volume-environment", "sentiment", "task-completion"):
            expect(page.locator(f"#chart-{chart} .plot")).to_be_visible()
        analytics = [url for url in across if "/api/v1/analytics?" in url]
        assert len(analytics) == 7, across
        # The clusters card read its API across origins too (two conversations: no cluster).
        expect(page.locator("#chart-clusters .chart-status")).to_have_text(
            "No clusters in this range."
        )
        assert any("/api/v1/clusters?" in url for url in across), across
        assert [e for e in errors if "CORS" in e] == [], errors
    finally:
        context.close()
