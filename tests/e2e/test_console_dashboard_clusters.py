"""The dashboard's clusters card in a real headless Chromium: the top clusters by size with
their trend, the dashboard's environment and time range passed on, a click opening the
cluster's page with its conversations (paged), and labels holding markup shown as text.

The last test runs on `make dev`'s own clusters API (its scheduled clustering over ingested
conversations of three topics). The others answer the clusters API (`GET /api/v1/clusters`,
`GET /api/v1/clusters/{id}`) by the browser's request routing, in the API's shape
(shared/clusters/views.py), for what real clustering would not give on demand: more than 8
clusters, every kind of trend, a label holding markup, a second page of members, a 404.
docs/dashboard.md describes the card."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.test_console import shot, sign_in
from tests.e2e.test_console_dashboard import chart_data, click_bar, wait_for_charts

pytestmark = pytest.mark.e2e
HOSTILE_LABEL = '<img src=x onerror="window.pwned=1"> login'


def trend(last: int, previous: int) -> dict[str, Any]:
    change = round((last - previous) / previous, 4) if previous else None
    return {"last7Days": last, "previous7Days": previous, "change": change}


def cluster(cluster_id: str, label: str, size: int, weeks: tuple[int, int]) -> dict[str, Any]:
    """A cluster as the clusters API shows it (shared/clusters/views.py)."""
    return {
        "id": cluster_id,
        "label": label,
        "size": size,
        "trend": trend(*weeks),
        "sampleConversationIds": ["refund-production-0"],
        "environment": "production",
        "terms": label.split(" · "),
        "createdAt": "2026-12-01T00:00:00Z",
    }


CLUSTERS = [
    cluster("cl_refunds", "refunds · order · bank", 12, (6, 4)),
    cluster("cl_login", HOSTILE_LABEL, 30, (5, 10)),
    cluster("cl_shipping", "shipping · parcel", 7, (7, 0)),
    *(cluster(f"cl_small_{n}", f"small {n}", n, (0, 0)) for n in range(1, 7)),
]


def with_clusters(page: Page) -> list[str]:
    """Answer the clusters API with the contract's shape; returns the URLs asked."""
    asked: list[str] = []

    def listing(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(
            status=200, content_type="application/json", body=json.dumps({"data": CLUSTERS})
        )

    def one(route: Route) -> None:
        asked.append(route.request.url)
        cursor = parse_qs(urlsplit(route.request.url).query).get("cursor")
        found = next(c for c in CLUSTERS if f"/clusters/{c['id']}?" in route.request.url)
        member = {"firstAt": "2026-12-06T10:00:00Z", "lastAt": "2026-12-06T10:05:00Z"}
        if cursor:
            members = [{"conversationId": "refund-production-0", **member}]
            page = {"limit": 25, "nextCursor": None}
        else:
            members = [{"conversationId": f"refund-page-{n}", **member} for n in range(3)]
            page = {"limit": 25, "nextCursor": "page-2"}
        body = {**found, "members": members, "pagination": page}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(re.compile(r".*/api/v1/clusters\?.*"), listing)
    page.route(re.compile(r".*/api/v1/clusters/[^/?]+(\?.*)?$"), one)
    return asked


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def test_top_clusters_with_their_trend_and_click_through(
    page: Page, clustered: ServerProcess
) -> None:
    asked = with_clusters(page)
    sign_in(page, clustered)
    wait_for_charts(page)
    expect(page.locator("#chart-clusters .plot")).to_be_visible()
    shown = chart_data(page, "clusters")
    # The 8 largest, largest first, each labeled with its trend.
    assert shown["datasets"][0]["data"] == [30, 12, 7, 6, 5, 4, 3, 2]
    assert shown["labels"][:3] == [
        f"{HOSTILE_LABEL} (↓ -50 %)",
        "refunds · order · bank (↑ +50 %)",
        "shipping · parcel (new this week)",
    ]
    assert shown["labels"][3] == "small 6 (quiet)"
    rows = page.locator("#chart-clusters table tr")
    expect(rows).to_have_count(8)
    expect(rows.first.locator("td").first).to_have_text(HOSTILE_LABEL)  # text, not markup
    assert page.locator("#charts img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    query = parse_qs(urlsplit(asked[0]).query)
    assert set(query) == {"since", "until"}  # the dashboard's range; any environment
    shot(page, "dashboard-clusters")

    # A bar opens the cluster's page: its conversations, paged, each a link.
    click_bar(page, "clusters", 0, 1)
    expect(page.locator("#cluster")).to_be_visible()
    expect(page.locator("#cluster-title")).to_have_text("refunds · order · bank")
    expect(page.locator("#cluster-meta")).to_have_text(
        "12 conversations · trend ↑ +50 % (6 in the last 7 days, 4 the 7 before)"
        " · environment production"
    )
    members = page.locator("#cluster-members a")
    expect(members).to_have_count(3)
    page.get_by_role("button", name="More conversations").click()
    expect(members).to_have_count(4)
    expect(page.get_by_role("button", name="More conversations")).to_be_hidden()
    assert parse_qs(urlsplit(asked[-1]).query)["cursor"] == ["page-2"]
    members.last.click()
    expect(page.locator("#view-title")).to_have_text("refund-production-0")
    expect(page.locator("#messages > li")).to_have_count(1)


def test_the_environment_filter_reaches_the_clusters_api(
    page: Page, clustered: ServerProcess
) -> None:
    asked = with_clusters(page)
    page.goto(f"{clustered.base_url}/#/?environment=development")
    page.get_by_label("API key").fill(clustered.keys["viewer"])
    page.locator("#sign-in-form button").click()
    wait_for_charts(page)
    expect(page.locator("#chart-clusters .plot")).to_be_visible()
    assert parse_qs(urlsplit(asked[-1]).query)["environment"] == ["development"]
    click_bar(page, "clusters", 0, 0)
    expect(page).to_have_url(re.compile(r"#/clusters/cl_login\?.*environment=development"))
    expect(page.locator("#cluster-title")).to_have_text(HOSTILE_LABEL)
    # A cluster is of one environment already: its page asks for the range only.
    assert set(parse_qs(urlsplit(asked[-1]).query)) == {"since", "until", "limit"}


def test_no_clusters_api_is_said_not_failed(page: Page, clustered: ServerProcess) -> None:
    page.route(
        re.compile(r".*/api/v1/clusters\?.*"),
        lambda route: route.fulfill(
            status=404,
            content_type="application/json",
            body=json.dumps({"error": {"code": "NOT_FOUND", "message": "Not found"}}),
        ),
    )
    sign_in(page, clustered)
    wait_for_charts(page)
    expect(page.locator("#chart-clusters .chart-status")).to_have_text(
        "Clusters are not available on this server yet."
    )


# --- end to end: the real clusters API of `make dev` (its scheduled clustering) ---------------
TOPICS = {
    "refund": "refund charged twice invoice money back refund payment card refund",
    "login": "login password reset locked account two factor code login password",
    "shipping": "parcel delivery tracking courier shipping address parcel delayed",
}
PER_TOPIC = 6


@pytest.fixture(scope="module")
def clustered() -> Iterator[ServerProcess]:
    """A server whose scheduled functions (clustering among them) run every 2 s, with three
    topics' conversations in production and one topic's in development."""
    running = start_server({"viewer": new_key()}, {"PARLEY_DEV_SCHEDULE_SECONDS": "2"})
    try:
        key = running.keys["viewer"]
        for environment, topics in (("production", TOPICS), ("development", ["login"])):
            events = [
                {"conversation_id": f"{topic}-{environment}-{n}", "role": "user", "message": text}
                for topic in topics
                for n in range(PER_TOPIC)
                for text in [TOPICS[topic]]
            ]
            body = {"environment": environment, "events": events}
            sent = request("POST", f"{running.base_url}/v1/ingest", key=key, json_body=body)
            assert sent.status == 200, sent.body
        deadline = time.monotonic() + 90
        sizes: list[int] = []
        while time.monotonic() < deadline:
            answer = request(
                "GET", f"{running.base_url}/api/v1/clusters?environment=production", key=key
            )
            assert answer.status == 200, answer.body
            sizes = sorted(c["size"] for c in answer.body["data"])
            if sizes == [PER_TOPIC] * 3:
                break
            time.sleep(0.5)
        assert sizes == [PER_TOPIC] * 3, running.output[-3000:]
        yield running
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


def test_the_card_end_to_end_on_the_clusters_api(page: Page, clustered: ServerProcess) -> None:
    page.goto(f"{clustered.base_url}/#/?environment=production")
    page.get_by_label("API key").fill(clustered.keys["viewer"])
    page.locator("#sign-in-form button").click()
    wait_for_charts(page)
    expect(page.locator("#chart-clusters .plot")).to_be_visible()
    shown = chart_data(page, "clusters")
    assert shown["datasets"][0]["data"] == [PER_TOPIC] * 3
    # Labeled by their members' distinctive terms, each with its trend (all new this week).
    labels = " ".join(shown["labels"])
    for word in ("charged", "account", "courier"):
        assert word in labels, labels
    assert labels.count("(new this week)") == 3
    shot(page, "dashboard-clusters-live")

    # The refund cluster's page: its six conversations, each opening.
    index = next(i for i, label in enumerate(shown["labels"]) if "charged" in label)
    click_bar(page, "clusters", 0, index)
    expect(page.locator("#cluster")).to_be_visible()
    expect(page.locator("#cluster-meta")).to_contain_text(f"{PER_TOPIC} conversations")
    expect(page.locator("#cluster-meta")).to_contain_text("environment production")
    members = page.locator("#cluster-members a")
    expect(members).to_have_count(PER_TOPIC)
    assert sorted(members.all_inner_texts()) == [f"refund-production-{n}" for n in range(PER_TOPIC)]
    members.first.click()
    expect(page.locator("#view-title")).to_have_text(re.compile(r"refund-production-\d"))
    expect(page.locator("#messages")).to_contain_text("refund charged twice")

    # Development's clusters apart from production's.
    page.goto(f"{clustered.base_url}/#/?environment=development")
    wait_for_charts(page)
    development = chart_data(page, "clusters")
    assert development["datasets"][0]["data"] == [PER_TOPIC]
    click_bar(page, "clusters", 0, 0)
    expect(page.locator("#cluster-members a")).to_have_count(PER_TOPIC)
    for member in page.locator("#cluster-members a").all_inner_texts():
        assert member.startswith("login-development-"), member
