"""Concurrent writers against an embedded DynamoDB-protocol server over HTTP (moto's threaded
server, as `make dev` runs it): appends never lose, duplicate or interleave messages, and
creates sharing an idempotency key make one conversation. Each scenario runs several rounds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.server import start_moto
from shared import services
from shared.conversations.service import ConversationService
from shared.conversations.store import ConversationStore
from shared.dynamo import make_client
from shared.settings import Settings, get_settings
from tests.integration.conversations import append, create, fresh_tenant, get, list_, open_live

THREADS = 8
CALLS_PER_THREAD = 3
MESSAGES_PER_CALL = 3
ROUNDS = 4


@pytest.fixture(scope="module")
def moto_endpoint(dynamodb: Any) -> Iterator[str]:
    """moto's threaded HTTP server. In this process it serves the same in-memory backend as the
    session's mock, so the session's tables are there; every call now goes over HTTP, through
    the server's request threads, as with `make dev`."""
    endpoint, server = start_moto()
    yield endpoint
    server.stop()


@pytest.fixture
def over_http(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(Settings(dynamodb_endpoint=moto_endpoint, write_concurrency=THREADS))
    store = ConversationStore(client, get_settings().conversations_table)
    service = ConversationService(store, 3600)
    monkeypatch.setattr(services, "conversation_service", lambda: service)


def run_together(count: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


@pytest.mark.usefixtures("over_http")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_appends_keep_every_message_once_and_each_call_together(round_: int) -> None:
    tenant = fresh_tenant()
    conversation_id = open_live(tenant)
    statuses: list[int] = []

    def appender(n: int) -> None:
        for call in range(CALLS_PER_THREAD):
            messages = [
                {"role": "user", "content": f"t{n}-c{call}-m{k}"} for k in range(MESSAGES_PER_CALL)
            ]
            answer = append(conversation_id, {"messages": messages}, tenant)
            statuses.append(answer.status)
            assert answer.status == 200, answer.body

    run_together(THREADS, appender)

    stored = [m["content"] for m in get(conversation_id, tenant).body["messages"]]
    expected = {
        f"t{n}-c{c}-m{k}"
        for n in range(THREADS)
        for c in range(CALLS_PER_THREAD)
        for k in range(MESSAGES_PER_CALL)
    }
    assert len(stored) == len(expected)  # nothing lost, nothing twice
    assert set(stored) == expected
    for start in range(0, len(stored), MESSAGES_PER_CALL):  # each call's messages contiguous
        call = stored[start : start + MESSAGES_PER_CALL]
        prefix = call[0].rsplit("-", 1)[0]
        assert call == [f"{prefix}-m{k}" for k in range(MESSAGES_PER_CALL)], stored
    # one thread's calls land in the order it made them
    for n in range(THREADS):
        mine = [m for m in stored if m.startswith(f"t{n}-")]
        assert mine == sorted(mine)


@pytest.mark.usefixtures("over_http")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_creates_with_one_key_make_one_conversation(round_: int) -> None:
    tenant = fresh_tenant()
    body = {"promptId": "p", "content": "User: hi", "idempotencyKey": "same-key"}
    ids: list[str] = []

    def creator(n: int) -> None:
        answer = create(body, tenant)
        assert answer.status == 200, answer.body
        ids.append(answer.body["id"])

    run_together(THREADS, creator)

    assert len(ids) == THREADS
    assert len(set(ids)) == 1
    assert list_(tenant).body["pagination"]["total"] == 1


@pytest.mark.usefixtures("over_http")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_creates_with_one_key_and_different_bodies_make_one_conversation(
    round_: int,
) -> None:
    tenant = fresh_tenant()
    answers: list[Any] = []

    def creator(n: int) -> None:
        body = {"promptId": "p", "content": f"User: hi {n}", "idempotencyKey": "same-key"}
        answers.append(create(body, tenant))

    run_together(THREADS, creator)

    created = [a for a in answers if a.status == 200]
    assert len(created) == 1, [a.body for a in answers]
    for answer in answers:
        if answer.status != 200:  # a body idempotencyKey reused with another body is 409 CONFLICT
            assert answer.status == 409, answer.body
            assert answer.body["error"]["code"] == "CONFLICT"
    assert list_(tenant).body["pagination"]["total"] == 1
