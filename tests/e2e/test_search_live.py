"""Search through the real write path on `python -m devtools.server` (make dev): every source
sent over HTTP is found by GET /v1/search while its rows are stream batches (the tail), and
again once compaction (the code the local timer runs) has moved them into the index; each
language case, each filter, paging, and tenant isolation whatever the query or cursor."""

from __future__ import annotations

import os
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shared import services
from shared.settings import get_settings
from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, new_key, start_server
from tests.e2e.test_lake import lake_folder, otlp_json

pytestmark = pytest.mark.e2e
WAIT_SECONDS = 30.0  # generous for a loaded machine; make dev takes about a second


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[ServerProcess, str]]:
    """Its own server with the compaction timer out of the way: the tests choose when the
    tail is compacted (with the compactor the timer runs)."""
    tenant = f"srch{uuid.uuid4().hex[:8]}"
    keys = {tenant: new_key(), f"{tenant}-other": new_key()}
    running = start_server(keys, {"PARLEY_DEV_SCHEDULE_SECONDS": "86400"})
    yield running, tenant
    assert running.stop() == 0, running.output
    assert "Traceback" not in running.output, running.output


def search(server: ServerProcess, tenant: str, **params: str) -> tuple[int, Any]:
    url = f"{server.base_url}/v1/search?{urllib.parse.urlencode(params)}"
    answer = request("GET", url, key=server.keys[tenant])
    return answer.status, answer.body


def found(server: ServerProcess, tenant: str, **params: str) -> list[dict[str, Any]]:
    status, body = search(server, tenant, **params)
    assert status == 200, body
    return list(body["data"])


def wait_for(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def compact(server: ServerProcess, tenant: str) -> None:
    """Runs the lake's compaction on the server's lake, as its timer does (the index is built
    through the compactor's `on_compacted` hook), until no batch file is left: a late stream
    batch (a conversation's second version) may land just after a run."""
    lake = lake_folder(server).parent
    records = lake_folder(server) / f"tenant={tenant}"
    saved = os.environ.get("LAKE_URI")
    os.environ["LAKE_URI"] = str(lake)
    get_settings.cache_clear()
    services.reset()

    def compacted() -> bool:
        report = services.lake_compactor().run(tenant)
        assert report.failed == [], report.failed
        return not list(records.rglob("batch-*.parquet"))

    try:
        assert wait_for(compacted), sorted(p.name for p in records.rglob("*.parquet"))
    finally:
        if saved is None:
            os.environ.pop("LAKE_URI", None)
        else:
            os.environ["LAKE_URI"] = saved
        get_settings.cache_clear()
        services.reset()


def send_every_source(server: ServerProcess, tenant: str, word: str) -> dict[str, str]:
    """One message carrying `word` through each write path; conversation id → its source."""
    key, url = server.keys[tenant], server.base_url
    run = uuid.uuid4().hex[:6]
    events = [
        {"conversation_id": f"chat-{run}", "role": "user", "message": f"chat {word}"},
        {
            "messageType": "channel",
            "id": f"ch-{run}",
            "conversationId": f"chan-{run}",
            "role": "user",
            "message": f"sms {word}",
        },
        {
            "messageType": "tool_call",
            "id": f"tc-{run}",
            "conversationId": f"tool-{run}",
            "name": "lookup",
            "toolCallRequest": {"q": word},
            "toolCallResponse": {"found": True},
        },
        {
            "messageType": "email",
            "id": f"em-{run}",
            "conversationId": f"mail-{run}",
            "role": "user",
            "subject": "Billing",
            "body": f"email {word}",
        },
        {
            "messageType": "call",
            "id": f"call-{run}",
            "conversationId": f"call-{run}",
            "transcript": [{"role": "user", "content": f"phone {word}"}],
        },
    ]
    sent = request("POST", f"{url}/v1/ingest", key=key, json_body={"events": events})
    assert sent.status == 200, sent.body
    vogent = {
        "events": [
            {
                "id": f"v-{run}",
                "conversationId": f"vog-{run}",
                "transcript": [{"speaker": "HUMAN", "text": f"vogent {word}"}],
            }
        ]
    }
    sent = request("POST", f"{url}/v1/ingest/vogent-raw", key=key, json_body=vogent)
    assert sent.status == 200, sent.body
    traces = request(
        "POST",
        f"{url}/v1/traces",
        key=key,
        data=otlp_json_with(f"otel-{run}", word),
        headers={"Content-Type": "application/json"},
    )
    assert traces.status == 200, traces.body
    created = request(
        "POST",
        f"{url}/api/v1/conversations",
        key=key,
        json_body={"promptId": "p1", "content": f"User: conversation {word}\nAssistant: ok"},
    )
    assert created.status in (200, 201), created.body
    runs = request(
        "POST",
        f"{url}/api/v1/runs",
        key=key,
        json_body={"agentName": "Bot", "messages": [{"role": "user", "content": f"run {word}"}]},
    )
    assert runs.status in (200, 201), runs.body
    return {
        f"chat-{run}": "chat",
        f"chan-{run}": "channel",
        f"tool-{run}": "tool_call",
        f"mail-{run}": "email",
        f"call-{run}": "call",
        f"vog-{run}": "call",
        f"otel-{run}": "otel",
        created.body["id"]: "conversations",
        runs.body["data"]["id"]: "conversations",
    }


def otlp_json_with(conversation: str, word: str) -> bytes:
    return otlp_json(conversation).replace(b"otel asks", f"otel {word}".encode())


def assert_every_source_found(server: ServerProcess, tenant: str, word: str) -> None:
    expected = send_every_source(server, tenant, word)

    def all_found() -> dict[str, str]:
        hits = found(server, tenant, q=word, limit="100")
        sources = {h["conversationId"]: h["source"] for h in hits}
        return sources if expected.keys() <= sources.keys() else {}

    sources = wait_for(all_found)
    assert sources, found(server, tenant, q=word, limit="100")
    assert {c: sources[c] for c in expected} == expected
    for hit in found(server, tenant, q=word, limit="100"):
        [start, end] = hit["highlights"][0]
        assert hit["snippet"][start:end].lower() == word


def test_every_source_is_found_in_the_tail_then_in_the_index(live: Any) -> None:
    server, tenant = live
    tail_word = f"tailword{uuid.uuid4().hex[:6]}"
    assert_every_source_found(server, tenant, tail_word)
    records = lake_folder(server) / f"tenant={tenant}"
    assert not list(records.rglob("compacted-*.parquet")), "compacted before the tail check"

    compact(server, tenant)
    assert (lake_folder(server).parent / "index" / f"tenant={tenant}" / "meta.json").exists()
    after = {h["conversationId"] for h in found(server, tenant, q=tail_word, limit="100")}
    assert len(after) == 9  # the same nine records, now from the index, once each
    assert_every_source_found(server, tenant, f"indexword{uuid.uuid4().hex[:6]}")


LANGUAGES = {
    "lang-fr": "Un café, et mon remboursement ?",
    "lang-en": "Two refunds were issued",
    "lang-zh": "我想要退款",
    "lang-ar": "أريد استرداد الدفع",
    "lang-ru": "Где мой заказ?",
}


@pytest.fixture(scope="module")
def languages(live: Any) -> str:
    """The messages above, sent once; the suffix of their conversation ids."""
    server, tenant = live
    run = f"-{uuid.uuid4().hex[:6]}"
    events = [
        {"conversation_id": f"{c}{run}", "role": "user", "message": text}
        for c, text in LANGUAGES.items()
    ]
    key = server.keys[tenant]
    sent = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body={"events": events})
    assert sent.status == 200, sent.body
    return run


@pytest.mark.parametrize(
    ("q", "conversation"),
    [
        ("cafe", "lang-fr"),
        ("refund", "lang-en"),
        ("退款", "lang-zh"),
        ("استرداد", "lang-ar"),
        ("заказ", "lang-ru"),
    ],
)
def test_each_language_case(live: Any, languages: str, q: str, conversation: str) -> None:
    server, tenant = live
    run = languages
    hits = wait_for(lambda: found(server, tenant, q=q, conversationId=f"{conversation}{run}"))
    assert [h["conversationId"] for h in hits] == [f"{conversation}{run}"]
    [[start, end], *_] = hits[0]["highlights"]
    assert hits[0]["snippet"][start:end]


def test_filters_paging_and_tenants(live: Any) -> None:
    server, tenant = live
    key = server.keys[tenant]
    word = f"filterword{uuid.uuid4().hex[:6]}"
    conversation = f"filters-{word}"
    events = [
        {
            "conversation_id": conversation,
            "role": "user" if i % 2 else "assistant",
            "message": f"{word} number {i}",
            "environment": "staging" if i < 3 else "production",
            "model": "gpt-4o" if i < 5 else "claude-3",
            "metadata": {"customer": {"tier": "gold" if i < 2 else "free"}, "n": i},
        }
        for i in range(12)
    ]
    sent = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body={"events": events})
    assert sent.status == 200, sent.body
    assert wait_for(lambda: len(found(server, tenant, q=word, limit="100")) == 12)

    def count(**filters: str) -> int:
        return len(found(server, tenant, q=word, limit="100", **filters))

    assert count(environment="staging") == 3
    assert count(role="user") == 6
    assert count(model="claude-3") == 7
    assert count(source="chat") == 12
    assert count(source="email") == 0
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert count(since=today) == 12
    assert count(until="2020-01-01") == 0
    assert count(conversationId=conversation) == 12
    assert count(**{"metadata.customer.tier": "gold"}) == 2
    assert count(**{"metadata.n": "7"}) == 1

    seen: list[str] = []
    params = {"q": word, "limit": "5"}
    while True:
        status, body = search(server, tenant, **params)
        assert status == 200, body
        seen += [h["recordId"] for h in body["data"]]
        if not body["nextCursor"]:
            break
        params["cursor"] = body["nextCursor"]
    assert len(seen) == 12 == len(set(seen))

    # Another tenant's key: nothing of this tenant, whatever the query or cursor.
    other = f"{tenant}-other"
    assert found(server, other, q=word) == []
    _, first = search(server, tenant, q=word, limit="5")
    status, body = search(server, other, q=word, limit="5", cursor=first["nextCursor"])
    assert status == 400
    assert "cursor" in body["message"]
    assert found(server, other, q=word, conversationId=conversation) == []


def test_redelivery_leaves_one_hit(live: Any) -> None:
    """The same request sent twice (a client retry): one hit. (A stream batch written twice is
    tests/unit/test_search_engine.py::test_a_redelivered_batch_yields_one_hit.)"""
    server, tenant = live
    key = server.keys[tenant]
    word = f"onceword{uuid.uuid4().hex[:6]}"
    body = {"events": [{"conversation_id": word, "role": "user", "message": word}]}
    for _ in range(2):
        sent = request(
            "POST",
            f"{server.base_url}/v1/ingest",
            key=key,
            json_body=body,
            headers={"Idempotency-Key": word},
        )
        assert sent.status == 200, sent.body
    assert wait_for(lambda: found(server, tenant, q=word))
    assert len(found(server, tenant, q=word)) == 1
