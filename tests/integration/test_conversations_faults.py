"""Storage faults on the conversations routes end in success or a retryable 503 with
Retry-After — never a 500, never a half-written or duplicated conversation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from shared import services
from shared.conversations.service import MAX_APPEND_ATTEMPTS, ConversationService
from shared.conversations.store import ConversationStore
from shared.dynamo import default_client
from shared.settings import get_settings
from tests.integration.conversations import (
    append,
    create,
    error,
    fresh_tenant,
    get,
    insights,
    list_,
    open_live,
)

Fault = Exception | str  # an exception to raise, or "commit-then-timeout"


def throttled(operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        operation,
    )


def cancelled(*codes: str) -> ClientError:
    error = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )
    return default_client().exceptions.TransactionCanceledException(
        error.response, "TransactWriteItems"
    )


class FaultyClient:
    """The real (moto) client, with faults injected per operation, in order."""

    def __init__(self, faults: dict[str, list[Fault]]) -> None:
        self.real = default_client()
        self.faults = faults
        self.exceptions = self.real.exceptions
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.real, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            pending = self.faults.get(name) or []
            fault = pending.pop(0) if pending else None
            if fault == "commit-then-timeout":
                method(**kwargs)
                raise ReadTimeoutError(endpoint_url="http://dynamodb")
            if isinstance(fault, Exception):
                raise fault
            return method(**kwargs)

        return call


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch, dynamodb: Any) -> Iterator[Callable[..., FaultyClient]]:
    """Install a service whose client fails as told; the storage deadline is short (so faults
    that never end answer quickly), or `deadline` seconds for cases that must end in success
    after a fault (0.3 s is too short for a retry on a loaded machine)."""

    def install(deadline: float = 0.3, **faults: list[Fault]) -> FaultyClient:
        monkeypatch.setenv("PARLEY_STORAGE_DEADLINE_SECONDS", str(deadline))
        get_settings.cache_clear()
        client = FaultyClient(faults)
        store = ConversationStore(client, get_settings().conversations_table)  # type: ignore[arg-type]
        service = ConversationService(store, 3600)
        monkeypatch.setattr(services, "conversation_service", lambda: service)
        return client

    yield install
    monkeypatch.delenv("PARLEY_STORAGE_DEADLINE_SECONDS")
    get_settings.cache_clear()


FOREVER = 10_000
MESSAGES = {"messages": [{"role": "user", "content": "hello"}]}


def unavailable(answer: Any) -> None:
    error(answer, 503, "SERVICE_UNAVAILABLE")
    assert int(answer.headers["retry-after"]) >= 1


def test_throttled_create_is_a_503_and_stores_nothing(faulty: Any) -> None:
    tenant = fresh_tenant()
    client = faulty(transact_write_items=[throttled("TransactWriteItems")] * FOREVER)
    unavailable(create({"promptId": "p", "content": "User: hi"}, tenant))
    assert client.calls["transact_write_items"] > 1  # it did retry
    faulty()
    assert list_(tenant).body["pagination"]["total"] == 0


def test_a_transaction_throttled_inside_is_retried_then_a_503(faulty: Any) -> None:
    conversation_id = open_live()
    faulty(transact_write_items=[cancelled("ThrottlingError", "None")] * FOREVER)
    unavailable(append(conversation_id, MESSAGES))
    faulty()
    assert get(conversation_id).body["messages"] == []


def test_transaction_conflicts_are_retried(faulty: Any) -> None:
    conversation_id = open_live()
    faulty(deadline=5, transact_write_items=[cancelled("TransactionConflict", "None")] * 2)
    answer = append(conversation_id, MESSAGES)
    assert answer.status == 200, answer.body
    assert answer.body["messages"] == MESSAGES["messages"]


def test_throttled_reads_are_a_503_on_every_route(faulty: Any) -> None:
    conversation_id = open_live()
    faulty(query=[throttled("Query")] * FOREVER, get_item=[throttled("GetItem")] * FOREVER)
    for answer in (
        get(conversation_id),
        append(conversation_id, MESSAGES),
        list_(),
        insights(conversation_id),
        create({"promptId": "p", "content": "User: hi", "idempotencyKey": "k"}),
    ):
        unavailable(answer)


def test_an_append_whose_answer_was_lost_is_not_written_twice(faulty: Any) -> None:
    """The transaction committed but the response timed out: the retry finds its own write."""
    conversation_id = open_live()
    faulty(deadline=5, transact_write_items=["commit-then-timeout"])
    answer = append(conversation_id, MESSAGES)
    assert answer.status == 200, answer.body
    assert answer.body["messages"] == MESSAGES["messages"]
    faulty()
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]


def test_a_create_whose_answer_was_lost_is_not_written_twice(faulty: Any) -> None:
    tenant = fresh_tenant()
    faulty(deadline=5, transact_write_items=["commit-then-timeout"])
    answer = create({"promptId": "p", "content": "User: hi", "idempotencyKey": "k"}, tenant)
    assert answer.status == 200, answer.body
    faulty()
    listed = list_(tenant).body
    assert listed["pagination"]["total"] == 1
    assert listed["data"][0]["id"] == answer.body["id"]


def test_appends_that_keep_losing_the_race_end_in_a_503(faulty: Any) -> None:
    conversation_id = open_live()
    client = faulty(transact_write_items=[cancelled("ConditionalCheckFailed", "None")] * FOREVER)
    unavailable(append(conversation_id, MESSAGES))
    # retried, but bounded by attempts and by the storage deadline
    assert 1 < client.calls["transact_write_items"] <= MAX_APPEND_ATTEMPTS
    faulty()
    assert get(conversation_id).body["messages"] == []


def test_unexpected_errors_are_a_500_in_the_conversations_envelope(
    monkeypatch: pytest.MonkeyPatch, dynamodb: Any
) -> None:
    class Broken:
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "conversation_service", Broken)
    answer = get("conv_01JHBVX3V8T2Q6R9M4K7N5P0SZ")
    err = error(answer, 500, "INTERNAL")
    assert "secret" not in err["message"]
    assert answer.headers["x-request-id"]


def test_an_append_committed_before_time_ran_out_is_a_200_not_a_503(faulty: Any) -> None:
    """The commit's answer was lost and every retry of the write failed until the deadline: one
    last read finds the write, so the client is not told to send it again."""
    conversation_id = open_live()
    faulty(
        transact_write_items=["commit-then-timeout", *[throttled("TransactWriteItems")] * FOREVER]
    )
    answer = append(conversation_id, MESSAGES)
    assert answer.status == 200, answer.body
    faulty()
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]
