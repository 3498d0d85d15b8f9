"""The console's dashboard in a real headless Chromium (Playwright) against `python -m
devtools.server`: the first page after sign-in, every chart present with the seeded data,
clicks through to the conversations behind a bar (or the conversation itself), the environment
filter and time range, a phone's width, and markup in the data shown as text. Screenshots land
in test-artifacts/ (gitignored)."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.test_console import ARTIFACTS, shot, sign_in

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 60.0  # the lake writer and the insights worker, on a loaded machine
TODAY = datetime.now(UTC).date()
DAY_1 = (TODAY - timedelta(days=2)).isoformat()
DAY_2 = (TODAY - timedelta(days=1)).isoformat()
HOSTILE_MODEL = '<img src=x onerror="window.pwned=1">'
CHARTS = [
    "volume-environment",
    "volume-source",
    "tokens-model",
    "clusters",
    "sentiment",
    "task-completion",
    "slowest",
    "expensive",
]
HAPPY = [
    {"role": "user", "content": "How do I export my invoices as PDF?"},
    {
        "role": "assistant",
        "content": "Open Billing, then Invoices, and click Export as PDF.",
        "model": "gpt-4o-mini",
        "latencyMs": 300,
        "usage": {"promptTokens": 10, "completionTokens": 10},
    },
    {"role": "user", "content": "Perfect, found it. Thank you so much!"},
]
ANGRY = [
    {"role": "user", "content": "This is the third time I ask: where is my refund for order 88?"},
    {
        "role": "assistant",
        "content": "I'm sorry, I can't see a refund for that order.",
        "model": "gpt-4o-mini",
        "latencyMs": 4200,
        "usage": {"promptTokens": 20, "completionTokens": 20},
    },
    {"role": "user", "content": "Unbelievable. Forget it, I'm disputing it with my bank."},
]


def event(conversation_id: str, day: str, **fields: Any) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "role": "assistant",
        "message": f"answer in {conversation_id}",
        "timestamp": f"{day}T10:00:00Z",
        **fields,
    }


@pytest.fixture(scope="module")
def dashboard() -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    # No scheduled run during this module (clustering would run every 30 s locally): the
    # clusters card shows its empty state; test_console_dashboard_clusters clusters a tenant.
    running = start_server(
        {"viewer": new_key(), "intruder": new_key()},
        env_overrides={"PARLEY_DEV_SCHEDULE_SECONDS": "86400"},
    )
    try:
        yield running, seed(running)
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


def seed(server: ServerProcess) -> dict[str, str]:
    key = server.keys["viewer"]
    batches = [
        (
            "production",
            [
                event("prod-chat", DAY_1, model="gpt-4o", input_tokens=1000, output_tokens=500),
                event("prod-chat", DAY_1, role="user", message="thanks"),
            ],
        ),
        (
            "staging",
            [event("stage-chat", DAY_2, model="claude-3-5-haiku", input_tokens=200)],
        ),
        (
            "development",
            [event("dev-chat", DAY_2, model=HOSTILE_MODEL, input_tokens=5, output_tokens=5)],
        ),
    ]
    for environment, events in batches:
        body = {"environment": environment, "events": events}
        sent = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body=body)
        assert sent.status == 200, sent.body
    ids = {"happy": converse(server, HAPPY), "angry": converse(server, ANGRY)}
    # Charted once the lake writer has the records and the insights worker both verdicts.
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        messages = analytics(server, "metric=messages")
        sentiment = analytics(server, "metric=sentiment")
        if messages == [{"value": 10}] and sentiment[0]["conversations"] == 2:
            return ids
        time.sleep(0.2)
    pytest.fail(f"the seeded data was not charted: {messages} {sentiment}")


def converse(server: ServerProcess, turns: list[dict[str, Any]]) -> str:
    key = server.keys["viewer"]
    base = f"{server.base_url}/api/v1/conversations"
    opened = request("POST", base, key=key, json_body={"promptId": "p-dash", "status": "active"})
    assert opened.status == 200, opened.body
    conversation_id: str = opened.body["id"]
    body = {"messages": turns, "status": "completed"}
    done = request("POST", f"{base}/{conversation_id}/messages", key=key, json_body=body)
    assert done.status == 200, done.body
    return conversation_id


def analytics(server: ServerProcess, query: str) -> list[dict[str, Any]]:
    answer = request(
        "GET", f"{server.base_url}/api/v1/analytics?{query}", key=server.keys["viewer"]
    )
    assert answer.status == 200, answer.body
    rows: list[dict[str, Any]] = answer.body["data"]
    return rows


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    # Chromium logs every 4xx answer (the bad range's 400): those
    # are asserted on the page; anything else logged is a fault.
    assert [e for e in errors if not e.startswith("Failed to load resource")] == [], errors


def chart_data(page: Page, chart: str) -> dict[str, Any]:
    """The chart's labels and datasets as Chart.js holds them (what it draws)."""
    data: dict[str, Any] = page.evaluate(
        """(id) => {
            const chart = Chart.getChart(document.querySelector(`#chart-${id} canvas`));
            if (!chart) return null;
            return {
                labels: chart.data.labels,
                datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
            };
        }""",
        chart,
    )
    return data


def series(data: dict[str, Any]) -> dict[str, float]:
    """Each dataset's total (stacked day charts)."""
    return {d["label"]: sum(v or 0 for v in d["data"]) for d in data["datasets"]}


def click_bar(page: Page, chart: str, dataset: int, index: int) -> None:
    """A real mouse click on the drawn bar or point."""
    page.locator(f"#chart-{chart}").scroll_into_view_if_needed()
    point = page.evaluate(
        """([id, d, i]) => {
            const canvas = document.querySelector(`#chart-${id} canvas`);
            const element = Chart.getChart(canvas).getDatasetMeta(d).data[i];
            const box = canvas.getBoundingClientRect();
            const center = element.getCenterPoint();
            return { x: box.left + center.x, y: box.top + center.y };
        }""",
        [chart, dataset, index],
    )
    page.mouse.click(point["x"], point["y"])


def back_to_dashboard(page: Page) -> None:
    page.go_back()
    wait_for_charts(page)


def in_url(page: Page, text: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(text)))


def wait_for_charts(page: Page) -> None:
    expect(page.locator("#dashboard")).to_be_visible()
    loading = page.locator("#charts .chart-status", has_text="Loading…")
    expect(loading).to_have_count(0, timeout=30_000)


def test_the_dashboard_is_the_first_page_and_charts_the_data(
    page: Page, dashboard: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, ids = dashboard
    sign_in(page, server)
    expect(page.locator("#dashboard")).to_be_visible()
    expect(page.locator("#list")).to_be_hidden()
    wait_for_charts(page)
    figures = page.locator("#charts > figure")
    expect(figures).to_have_count(len(CHARTS))
    assert figures.evaluate_all("nodes => nodes.map(n => n.dataset.chart)") == CHARTS
    # Every chart but the clusters card (nothing clustered yet) has drawn its data.
    expect(page.locator("#chart-slowest .plot")).to_be_visible()
    for chart in CHARTS:
        if chart != "clusters":
            expect(page.locator(f"#chart-{chart} .plot")).to_be_visible()
    expect(page.locator("#chart-clusters")).to_contain_text("No clusters in this range")

    by_environment = chart_data(page, "volume-environment")
    assert len(by_environment["labels"]) == 30  # every day of the default range
    assert by_environment["labels"][-1] == TODAY.isoformat()
    assert series(by_environment) == {
        "production": 1,
        "staging": 1,
        "development": 1,
        "(not set)": 2,  # the conversations API's: no environment attribute
    }
    by_source = chart_data(page, "volume-source")
    assert series(by_source) == {"chat": 3, "conversations": 2}
    tokens = chart_data(page, "tokens-model")
    assert tokens["labels"] == ["gpt-4o", "claude-3-5-haiku", "gpt-4o-mini", HOSTILE_MODEL]
    assert tokens["datasets"][0]["data"] == [1500, 200, 60, 10]

    sentiment = chart_data(page, "sentiment")
    today = [v for v in sentiment["datasets"][0]["data"] if v is not None]
    assert len(today) == 1
    assert -1 <= today[0] <= 1
    assert sentiment["labels"][sentiment["datasets"][0]["data"].index(today[0])] == str(TODAY)
    task = chart_data(page, "task-completion")
    assert [v for v in task["datasets"][0]["data"] if v is not None] == [
        r["value"] for r in analytics(server, "metric=taskCompleted")
    ]
    slowest = chart_data(page, "slowest")
    assert slowest["labels"] == [ids["angry"], ids["happy"]]
    assert slowest["datasets"][0]["data"] == [4200, 300]
    expensive = chart_data(page, "expensive")
    assert expensive["labels"][0] == "prod-chat"  # gpt-4o: $0.0075

    # The data tables say the same in text; the model's markup is text, never an element.
    table = page.locator("#chart-tokens-model table tr")
    expect(table).to_have_count(4)
    expect(table.nth(3).locator("td").first).to_have_text(HOSTILE_MODEL)
    assert page.locator("#charts img").count() == 0
    assert page.evaluate("window.pwned === undefined")
    shot(page, "dashboard")


def test_every_chart_clicks_through(
    page: Page, dashboard: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, ids = dashboard
    sign_in(page, server)
    wait_for_charts(page)
    # A staging bar: the drill page lists exactly that day's staging conversations.
    names = [d["label"] for d in chart_data(page, "volume-environment")["datasets"]]
    click_bar(page, "volume-environment", names.index("staging"), 28)  # DAY_2
    expect(page.locator("#drill")).to_be_visible()
    in_url(page, "environment=staging")
    in_url(page, f"since={DAY_2}")
    expect(page.locator("#drill-filters")).to_contain_text(f"{DAY_2} · environment staging")
    expect(page.locator("#drill-rows tr")).to_have_count(1)
    expect(page.locator("#drill-rows tr").first).to_contain_text("stage-chat")
    shot(page, "dashboard-drill")
    # …and a conversation there opens it.
    page.locator("#drill-rows a").first.click()
    expect(page.locator("#view")).to_be_visible()
    expect(page.locator("#view-title")).to_have_text("stage-chat")
    expect(page.locator("#messages > li")).to_have_count(1)

    # A source bar: chat on DAY_1.
    page.goto(server.base_url + "/#/")
    wait_for_charts(page)
    sources = [d["label"] for d in chart_data(page, "volume-source")["datasets"]]
    click_bar(page, "volume-source", sources.index("chat"), 27)
    expect(page.locator("#drill-rows tr")).to_have_count(1)
    expect(page.locator("#drill-rows")).to_contain_text("prod-chat")
    in_url(page, "source=chat")

    # A model: its conversations by tokens.
    back_to_dashboard(page)
    click_bar(page, "tokens-model", 0, 0)
    in_url(page, "model=gpt-4o")
    expect(page.locator("#drill-rows tr")).to_have_count(1)
    expect(page.locator("#drill-rows tr").first).to_contain_text("prod-chat")
    expect(page.locator("#drill-rows tr").first).to_contain_text("1,500")

    # Today's sentiment: today's conversations with insights, the least satisfied first.
    back_to_dashboard(page)
    click_bar(page, "sentiment", 0, 29)
    expect(page.locator("#drill-rows tr")).to_have_count(2)
    expect(page.locator("#drill-filters")).to_contain_text("lowest first")
    gloomy = analytics(server, f"metric=sentiment&groupBy=conversationId&sort=value&since={TODAY}")
    expect(page.locator("#drill-rows a")).to_have_text([r["conversationId"] for r in gloomy])

    back_to_dashboard(page)
    click_bar(page, "task-completion", 0, 29)
    expect(page.locator("#drill-rows tr")).to_have_count(2)
    in_url(page, "metric=taskCompleted")

    # The slowest conversation opens itself (a conversations API conversation).
    back_to_dashboard(page)
    click_bar(page, "slowest", 0, 0)
    expect(page.locator("#view-meta")).to_contain_text("conversations API")
    assert ids["angry"] in page.url
    expect(page.locator("#messages")).to_contain_text("third time I ask")

    # The most expensive one too (an ingest conversation); the data table links the same.
    back_to_dashboard(page)
    click_bar(page, "expensive", 0, 0)
    expect(page.locator("#view-title")).to_have_text("prod-chat")
    expect(page.locator("#messages > li")).to_have_count(2)
    back_to_dashboard(page)
    link = page.locator("#chart-expensive table a").first
    assert link.get_attribute("href") == "#/c/any/prod-chat"


def test_environment_filter_and_time_range(
    page: Page, dashboard: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, _ = dashboard
    sign_in(page, server)
    wait_for_charts(page)
    page.locator("#dash-filters").get_by_label("Environment").select_option("staging")
    page.locator("#dash-filters button").click()
    in_url(page, "environment=staging")
    wait_for_charts(page)
    expect(page.locator("#dash-range")).to_contain_text("environment staging")
    expect(page.locator("#chart-volume-environment .plot")).to_be_visible()
    assert series(chart_data(page, "volume-environment")) == {"staging": 1}
    assert chart_data(page, "tokens-model")["labels"] == ["claude-3-5-haiku"]
    # Staging has no latency, cost or insights: those cards say so instead of an empty chart.
    for chart in ("slowest", "sentiment", "task-completion"):
        expect(page.locator(f"#chart-{chart} .chart-status")).to_have_text("No data in this range.")
    shot(page, "dashboard-staging")
    # The filter travels with a click-through.
    click_bar(page, "tokens-model", 0, 0)
    in_url(page, "environment=staging")
    expect(page.locator("#drill-rows tr")).to_have_count(1)

    # A time range: the two days with ingest data only.
    page.goto(f"{server.base_url}/#/?since={DAY_1}&until={DAY_2}")
    wait_for_charts(page)
    expect(page.locator("#d-since")).to_have_value(DAY_1)
    by_environment = chart_data(page, "volume-environment")
    assert by_environment["labels"] == [DAY_1, DAY_2]
    assert series(by_environment) == {"production": 1, "staging": 1, "development": 1}
    # A range with nothing in it.
    page.locator("#d-since").fill("2020-01-01")
    page.locator("#d-until").fill("2020-01-31")
    page.locator("#dash-filters button").click()
    expect(page.locator("#chart-volume-environment .chart-status")).to_have_text(
        "No data in this range."
    )
    # A link with something else than days falls back to the default range.
    page.goto(f"{server.base_url}/#/?since=yesterday&until=2026-13-45")
    wait_for_charts(page)
    expect(page.locator("#d-until")).to_have_value(TODAY.isoformat())
    assert len(chart_data(page, "volume-environment")["labels"]) == 30
    # A bad range is the API's 400, said on each chart.
    page.goto(f"{server.base_url}/#/?since=2026-02-01&until=2026-01-01")
    expect(page.locator("#chart-tokens-model .chart-status")).to_contain_text("'since'")


def test_another_tenant_sees_empty_charts(
    page: Page, dashboard: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, _ = dashboard
    sign_in(page, server, tenant="intruder")
    for chart in ("volume-environment", "tokens-model", "slowest"):
        expect(page.locator(f"#chart-{chart} .chart-status")).to_have_text("No data in this range.")


def test_legible_on_a_phone(
    browser: Browser, dashboard: tuple[ServerProcess, dict[str, str]]
) -> None:
    server, _ = dashboard
    context = browser.new_context(
        viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True
    )
    try:
        phone = context.new_page()
        sign_in(phone, server)
        wait_for_charts(phone)
        # One column, nothing wider than the screen, every chart the screen's width.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        widths = phone.locator("#charts canvas").evaluate_all(
            "nodes => nodes.map(n => n.getBoundingClientRect().width)"
        )
        assert all(280 <= w <= 375 for w in widths[:3]), widths
        boxes = phone.locator("#charts > figure").evaluate_all(
            "nodes => nodes.map(n => n.getBoundingClientRect().left)"
        )
        assert len(set(round(b) for b in boxes)) == 1  # stacked, not side by side
        # Axis labels are cut to fit; the conversation ids are whole in the table.
        slowest = phone.locator("#chart-slowest")
        slowest.locator("summary").click()
        expect(slowest.locator("table a").first).to_be_visible()
        shot(phone, "dashboard-phone")
        # …and what the phone's screen shows at once, at its own size.
        phone.locator("#chart-tokens-model").scroll_into_view_if_needed()
        phone.screenshot(path=str(ARTIFACTS / "console-dashboard-phone-screen.png"))
        # A tap on a bar opens the conversations behind it.
        click_bar(phone, "tokens-model", 0, 0)
        expect(phone.locator("#drill-rows tr")).to_have_count(1)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()
