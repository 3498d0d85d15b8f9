"""The console's views of what each API stores, in a real headless Chromium against
`python -m devtools.server` (docs/console.md): the Status filter offers exactly the statuses
the API accepts; conversations API rows have a title, a message count and their prompt or
agent; a conversation shows its tool calls with arguments and results, latency, token usage
and message times; every time carries its zone; the list fits a 375 px phone; a traced
(OTLP) run shows its spans as a tree with durations on a timeline. Screenshots are kept in
test-artifacts/."""

from __future__ import annotations

import json
import re
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import set_span_in_context
from playwright.sync_api import Browser, Page, expect

from shared.conversations.models import STATUSES
from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.test_console import open_list, shot, sign_in
from tests.e2e.test_local_api import records

pytestmark = pytest.mark.e2e

BASE = "/api/v1/conversations"
ORDER_HELP = {
    "messages": [
        {"role": "user", "content": "Where is order 456?", "timestamp": "2026-03-01T09:00:00Z"},
        {
            "role": "assistant",
            "content": "Let me look it up.",
            "timestamp": "2026-03-01T09:00:02.500Z",
            "model": "gpt-4o",
            "usage": {"promptTokens": 42, "completionTokens": 9, "totalTokens": 51},
            "latencyMs": 640,
            "toolCalls": [
                {"id": "call_1", "name": "lookup_order", "arguments": {"order_id": "456"}}
            ],
        },
        {
            "role": "tool",
            "content": "",
            "toolCalls": [{"id": "call_1", "result": {"status": "delivered"}}],
        },
        {
            "role": "assistant",
            "content": "It was delivered yesterday.",
            "latencyMs": 1200,
            "toolCalls": [
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "send_receipt", "arguments": '{"email": "a@b.c"}'},
                    "result": "sent",
                }
            ],
        },
    ]
}


@pytest.fixture(scope="module")
def viewer() -> Iterator[ServerProcess]:
    running = start_server({"viewer": new_key()})
    try:
        yield running
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


def api(server: ServerProcess, method: str, path: str, body: Any = None) -> dict[str, Any]:
    reply = request(method, server.base_url + path, key=server.keys["viewer"], json_body=body)
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.body
    return result


@pytest.fixture(scope="module")
def seeded(viewer: ServerProcess) -> dict[str, str]:
    """One conversation of each kind the views are about, by name → id."""
    order = api(
        viewer,
        "POST",
        BASE,
        {"promptId": "prompt_ship", "promptName": "Shipping", "content": json.dumps(ORDER_HELP)},
    )["id"]
    agent = api(
        viewer,
        "POST",
        BASE,
        {"promptId": "prompt_bot", "agentName": "Support Bot", "status": "active"},
    )["id"]
    dropped = api(
        viewer,
        "POST",
        BASE,
        {"promptId": "prompt_ship", "status": "abandoned", "content": "User: hello?"},
    )["id"]
    return {"order": order, "agent": agent, "dropped": dropped, "trace": traced_run(viewer)}


def traced_run(server: ServerProcess) -> str:
    """An agent run exported by the OpenTelemetry SDK: an agent span (no GenAI data, so not
    stored) over a model call, a tool call, and a second model call."""
    conversation = f"traced-{uuid.uuid4().hex[:8]}"
    exporter = OTLPSpanExporter(
        endpoint=f"{server.base_url}/v1/traces",
        headers={"Authorization": f"Bearer {server.keys['viewer']}"},
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "console-e2e"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("e2e")
    question = {"role": "user", "parts": [{"type": "text", "content": "Weather in Oslo?"}]}
    call = {"type": "tool_call", "id": "call_9", "name": "weather", "arguments": {"city": "Oslo"}}
    answer = {"role": "assistant", "parts": [{"type": "text", "content": "4 °C and rain."}]}

    def chat(name: str, output: dict[str, Any], history: list[dict[str, Any]]) -> None:
        with tracer.start_span(name, context=context) as span:
            span.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.conversation.id": conversation,
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.input.messages": json.dumps(history),
                    "gen_ai.output.messages": json.dumps([output]),
                }
            )

    with tracer.start_as_current_span("invoke_agent weather-bot") as agent:
        agent.set_attribute("gen_ai.conversation.id", conversation)
        context = set_span_in_context(agent)
        chat("chat first", {"role": "assistant", "parts": [call]}, [question])
        with tracer.start_span("execute_tool weather", context=context) as tool:
            tool.set_attributes(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.conversation.id": conversation,
                    "gen_ai.tool.name": "weather",
                    "gen_ai.tool.call.id": "call_9",
                    "gen_ai.tool.call.arguments": '{"city": "Oslo"}',
                    "gen_ai.tool.call.result": '{"sky": "rain"}',
                }
            )
        chat("chat second", answer, [question])
    provider.shutdown()  # exports the whole trace
    assert records(server, conversation, "viewer"), "the traced run was not stored"
    return conversation


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A fixed zone and locale, so the zone label the test expects is known.
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, timezone_id="Asia/Kolkata", locale="en-US"
    )
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def row_of(page: Page, conversation_id: str) -> Any:
    return page.locator("#rows tr").filter(has_text=conversation_id)


def test_the_status_filter_offers_exactly_the_api_statuses(
    page: Page, viewer: ServerProcess, seeded: dict[str, str]
) -> None:
    sign_in(page, viewer, "viewer")
    open_list(page)
    status = page.locator("#filters").get_by_label("Status")
    values = status.locator("option").evaluate_all("nodes => nodes.map(n => n.value)")
    assert values == ["", *STATUSES]
    for value in STATUSES:  # each one is accepted by the API
        status.select_option(value)
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#list-error")).to_be_hidden()
        expect(page.locator("#rows tr, #list-empty:visible").first).to_be_visible()
    status.select_option("abandoned")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#rows tr")).to_have_count(1)
    expect(row_of(page, seeded["dropped"])).to_contain_text("abandoned")


def test_conversations_api_rows_have_title_count_and_producer(
    page: Page, viewer: ServerProcess, seeded: dict[str, str]
) -> None:
    sign_in(page, viewer, "viewer")
    open_list(page)
    order = row_of(page, seeded["order"])
    expect(order.get_by_role("link")).to_have_text("Where is order 456?")  # first user message
    expect(order.locator('td[data-label="Messages"]')).to_have_text("4")
    expect(order.locator('td[data-label="Prompt or agent"]')).to_have_text("prompt Shipping")
    agent = row_of(page, seeded["agent"])  # no message yet: its id stands in for a title
    expect(agent.get_by_role("link")).to_have_text(seeded["agent"])
    expect(agent.locator('td[data-label="Messages"]')).to_have_text("0")
    expect(agent.locator('td[data-label="Prompt or agent"]')).to_have_text("agent Support Bot")
    # Every time in the list says its zone.
    for shown in page.locator("#rows time").all_inner_texts():
        assert "GMT+5:30" in shown, shown
    shot(page, "api-rows")


def test_a_conversation_shows_tool_calls_latency_usage_and_times(
    page: Page, viewer: ServerProcess, seeded: dict[str, str]
) -> None:
    sign_in(page, viewer, "viewer")
    page.goto(f"{viewer.base_url}/#/c/api/{seeded['order']}")
    messages = page.locator("#messages > li")
    expect(messages).to_have_count(4)
    first, reply, tool, last = (messages.nth(i) for i in range(4))
    # Message times, in the browser's zone: 09:00 UTC is 2:30 PM in Kolkata.
    expect(first.locator("time")).to_have_text(re.compile(r"Mar 1, 2026, 2:30:00\sPM GMT\+5:30"))
    expect(first.locator("time")).to_have_attribute("datetime", "2026-03-01T09:00:00.000Z")
    expect(tool).to_contain_text("no time sent")
    expect(reply).to_contain_text("gpt-4o")
    expect(reply).to_contain_text("tokens 42 in · 9 out · 51 total")
    expect(reply).to_contain_text("latency 640 ms")
    expect(last).to_contain_text("latency 1.20 s")
    # The call with its arguments, and the result the tool message carried for it.
    call = reply.locator(".tool-pair")
    expect(call).to_contain_text("lookup_order")
    expect(call).to_contain_text("call_1")
    assert json.loads(call.locator("details").nth(0).locator("pre").inner_text()) == {
        "order_id": "456"
    }
    assert json.loads(call.locator("details").nth(1).locator("pre").inner_text()) == {
        "status": "delivered"
    }
    expect(tool).to_contain_text("result of call_1 shown with its call")
    # The OpenAI shape: function.name, and arguments sent as a JSON string.
    other = last.locator(".tool-pair")
    expect(other).to_contain_text("send_receipt")
    assert json.loads(other.locator("pre").first.inner_text()) == {"email": "a@b.c"}
    expect(other).to_contain_text("sent")
    expect(page.locator("#view-meta")).to_contain_text("prompt Shipping")
    expect(page.locator("#view-meta")).to_contain_text("GMT+5:30")
    shot(page, "api-detail")


def test_a_traced_run_shows_its_span_tree_on_a_timeline(
    page: Page, viewer: ServerProcess, seeded: dict[str, str]
) -> None:
    sign_in(page, viewer, "viewer")
    page.goto(f"{viewer.base_url}/#/c/ingest/{seeded['trace']}")
    expect(page.locator("#trace")).to_be_visible()
    spans = page.locator("#trace .span-row")
    expect(spans).to_have_count(4)  # the agent span (not stored) over its three children
    depths = spans.evaluate_all("rows => rows.map(r => [r.dataset.depth, r.innerText])")
    assert [depth for depth, _ in depths] == ["0", "1", "1", "1"]
    assert "span not stored" in depths[0][1]
    # Children in start order, each with its duration.
    names = [text.split("\n")[0] for _, text in depths[1:]]
    assert names == ["chat first", "execute_tool weather", "chat second"]
    for _, text in depths[1:]:
        assert re.search(r"\d ms|\d s", text), text
    # The bars sit on one timeline, left to right in start order.
    lefts = spans.locator(".bar-fill").evaluate_all(
        "bars => bars.map(b => parseFloat(b.style.left))"
    )
    assert lefts[1] <= lefts[2] <= lefts[3]
    # Each stored record says which span wrote it, and how long that span took.
    for record in records(viewer, seeded["trace"], "viewer"):
        assert record["metadata"]["otel.duration_ms"] >= 0
        assert record["metadata"]["otel.parent_span_id"]
    expect(page.locator("#messages .span-note").first).to_contain_text("span chat first")
    shot(page, "trace")


@pytest.mark.parametrize("where", ["list", "api", "trace"])
def test_a_375_px_phone_never_scrolls_sideways(
    browser: Browser, viewer: ServerProcess, seeded: dict[str, str], where: str
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, viewer, "viewer")
        if where == "api":
            page.goto(f"{viewer.base_url}/#/c/api/{seeded['order']}")
            expect(page.locator("#messages > li")).to_have_count(4)
        elif where == "trace":
            page.goto(f"{viewer.base_url}/#/c/ingest/{seeded['trace']}")
            expect(page.locator("#trace")).to_be_visible()
        else:
            open_list(page)
            expect(page.locator("#rows tr").first).to_be_visible()
            # Each row is a card whose cells name their column.
            label = page.locator("#rows td").first.evaluate(
                "td => getComputedStyle(td, '::before').content"
            )
            assert label == '"Conversation"'
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width} px wide on a 375 px screen"
        shot(page, f"phone-{where}")
    finally:
        context.close()


HOSTILE = '<img src=x onerror="window.pwned=1"><b>bold</b>'


def test_markup_in_the_data_is_shown_as_text(page: Page, viewer: ServerProcess) -> None:
    turns = {
        "messages": [
            {"role": "user", "content": HOSTILE},
            {
                "role": "assistant",
                "content": "ok",
                "toolCalls": [{"id": HOSTILE, "name": HOSTILE, "arguments": HOSTILE}],
            },
        ]
    }
    created = api(viewer, "POST", BASE, {"promptName": HOSTILE, "content": json.dumps(turns)})
    sign_in(page, viewer, "viewer")
    open_list(page)
    expect(row_of(page, created["id"]).get_by_role("link")).to_have_text(HOSTILE)
    expect(row_of(page, created["id"])).to_contain_text(f"prompt {HOSTILE}")
    page.goto(f"{viewer.base_url}/#/c/api/{created['id']}")
    expect(page.locator(".tool-pair")).to_contain_text(HOSTILE)
    expect(page.locator("#view-title")).to_contain_text(HOSTILE)
    # Not one element made from it, and nothing ran.
    assert page.locator("main b, main img").count() == 0
    assert page.evaluate("window.pwned") is None
