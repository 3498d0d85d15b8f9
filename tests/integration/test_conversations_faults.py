"""Storage faults on the conversations routes end in success or a retryable 503 with
Retry-After — never a 500, never a half-written or duplicated conversation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from functions.runs_append.app import handler as runs_append_handler
from functions.runs_create.app import handler as runs_create_handler
from shared import services
from shared.conversations.models import Message
from shared.conversations.service import MAX_APPEND_ATTEMPTS, ConversationService
from shared.conversations.store import ConversationStore
from shared.dynamo import Deadline, default_client
from shared.idempotency import IdempotencyStore
from shared.settings import get_settings
from tests.integration.conversations import (
    RUNS,
    append,
    create,
    error,
    fresh_tenant,
    get,
    insights,
    list_,
    open_live,
)
from tests.support import api_event, invoke

# An exception to raise; "commit-then-timeout" (applied, then the answer times out);
# "lost" (reaches storage, which applies or refuses it; either answer times out);
# "deliver-late" (times out, reaches storage only when the test says: see `deliver_late`);
# a function given the real call and its arguments; None: the call goes through.
Fault = Exception | str | Callable[[Callable[..., Any], dict[str, Any]], Any] | None


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
        self.late: list[tuple[Callable[..., Any], dict[str, Any]]] = []

    def deliver_late(self) -> list[bool]:
        """Let the "deliver-late" calls reach storage now: for each, whether it was applied (a
        conditional write may now be refused)."""
        applied = []
        for method, kwargs in self.late:
            try:
                method(**kwargs)
            except (
                self.exceptions.TransactionCanceledException,
                self.exceptions.ConditionalCheckFailedException,
            ):
                applied.append(False)
            else:
                applied.append(True)
        self.late.clear()
        return applied

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.real, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            pending = self.faults.get(name) or []
            fault = pending.pop(0) if pending else None
            if fault == "commit-then-timeout":
                method(**kwargs)
                raise ReadTimeoutError(endpoint_url="http://dynamodb")
            if fault == "lost":
                with contextlib.suppress(ClientError):  # a refusal is lost as well
                    method(**kwargs)
                raise ReadTimeoutError(endpoint_url="http://dynamodb")
            if fault == "deliver-late":
                self.late.append((method, kwargs))
                raise ReadTimeoutError(endpoint_url="http://dynamodb")
            if isinstance(fault, Exception):
                raise fault
            if callable(fault):
                return fault(method, kwargs)
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


# --- a write whose outcome is unknown: a 503 must mean "not stored, and never will be" --------


def test_an_append_reaching_storage_after_its_503_is_refused(faulty: Any) -> None:
    """The write timed out on its way (still in flight in the network or queued in storage),
    then storage throttled until the deadline: the 503 tells the client to resend, so the
    late write must never apply, or the resend would store the messages twice."""
    conversation_id = open_live()
    client = faulty(
        transact_write_items=["deliver-late", *[throttled("TransactWriteItems")] * FOREVER]
    )
    unavailable(append(conversation_id, MESSAGES))
    assert client.deliver_late() == [False]
    faulty()
    assert get(conversation_id).body["messages"] == []
    assert append(conversation_id, MESSAGES).status == 200  # the client's resend
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]


def test_late_writes_of_several_refused_appends_are_all_refused(faulty: Any) -> None:
    """Two appends time out against the same version and are both answered 503: neither write
    may apply later (fencing one must not unfence the other)."""
    conversation_id = open_live()
    first = faulty(
        transact_write_items=["deliver-late", *[throttled("TransactWriteItems")] * FOREVER]
    )
    unavailable(append(conversation_id, MESSAGES))
    second = faulty(
        transact_write_items=["deliver-late", *[throttled("TransactWriteItems")] * FOREVER]
    )
    unavailable(append(conversation_id, {"messages": [{"role": "user", "content": "again"}]}))
    assert first.deliver_late() == [False]
    assert second.deliver_late() == [False]
    faulty()
    assert get(conversation_id).body["messages"] == []


def test_a_committed_append_is_a_200_even_when_reads_fail_until_the_deadline(faulty: Any) -> None:
    """The write committed but its answer was lost; then every write and read failed until
    the deadline (a loaded machine: each call slower than the budget). The write is stored, so
    a 503 would make the client store it twice."""
    conversation_id = open_live()
    faulty(
        transact_write_items=["commit-then-timeout", *[throttled("TransactWriteItems")] * FOREVER],
        query=[None, *[throttled("Query")] * FOREVER],
        update_item=[throttled("UpdateItem")] * FOREVER,
    )
    answer = append(conversation_id, MESSAGES)
    assert answer.status == 200, answer.body
    faulty()
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]


def test_when_every_write_answer_is_lost_a_committed_append_is_a_200(faulty: Any) -> None:
    """Every write reaches storage but no answer comes back (the fence's included), until the
    deadline: the reads find the commit."""
    conversation_id = open_live()
    faulty(transact_write_items=["lost"] * FOREVER, update_item=["lost"] * FOREVER)
    answer = append(conversation_id, MESSAGES)
    assert answer.status == 200, answer.body
    faulty()
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]


def test_a_fence_whose_answer_was_lost_still_refuses_the_late_write(faulty: Any) -> None:
    conversation_id = open_live()
    client = faulty(
        transact_write_items=["deliver-late", *[throttled("TransactWriteItems")] * FOREVER],
        update_item=["lost"] * FOREVER,
    )
    unavailable(append(conversation_id, MESSAGES))
    assert client.deliver_late() == [False]
    faulty()
    assert get(conversation_id).body["messages"] == []


def test_a_lost_commit_followed_by_another_append_is_not_written_twice(faulty: Any) -> None:
    """Our write committed with its answer lost, and another client's append committed before
    our retry: the retry loses the race, and the re-read must still find our write although it
    is no longer the conversation's last."""
    conversation_id = open_live()
    other = ConversationService(
        ConversationStore(default_client(), get_settings().conversations_table), 3600
    )
    theirs = [Message.model_validate({"role": "user", "content": "theirs"})]

    def commit_then_another_append_then_timeout(
        method: Callable[..., Any], kwargs: dict[str, Any]
    ) -> Any:
        method(**kwargs)
        other.append("acme", conversation_id, theirs, Deadline(5))
        raise ReadTimeoutError(endpoint_url="http://dynamodb")

    faulty(deadline=5, transact_write_items=[commit_then_another_append_then_timeout])
    answer = append(conversation_id, MESSAGES)
    assert answer.status == 200, answer.body
    faulty()
    stored = get(conversation_id).body["messages"]
    assert [m["content"] for m in stored] == ["hello", "theirs"]


def test_a_runs_append_committed_with_its_answer_lost_is_a_200_stored_once(faulty: Any) -> None:
    """The e2e failure of `test_runs_append[server-error]` on a loaded machine, made
    deterministic: the write reached storage, its answer did not arrive in time, and the
    deadline ran out before any read could confirm it."""
    run = open_live()
    faulty(
        transact_write_items=["commit-then-timeout", *[throttled("TransactWriteItems")] * FOREVER],
        query=[None, *[throttled("Query")] * FOREVER],
    )
    answer = run_append(run, MESSAGES)
    assert answer.status == 200, answer.body
    assert answer.body["data"]["id"] == run
    faulty()
    assert get(run).body["messages"] == MESSAGES["messages"]


def run_append(run_id: str, body: Any, **kwargs: Any) -> Any:
    path = f"/api/v1/runs/{run_id}/messages"
    event = api_event(
        "POST",
        path,
        resource="/api/v1/runs/{id}/messages",
        path_params={"id": run_id},
        body=body,
        tenant="acme",
        **kwargs,
    )
    return invoke(runs_append_handler, event)


# --- resends under an Idempotency-Key ----------------------------------------------------------


def keyed(key: str) -> dict[str, Any]:
    return {"headers": {"Idempotency-Key": key}}


@pytest.mark.parametrize("route", ["conversations", "runs"])
def test_a_keyed_resend_after_an_open_write_landed_is_stored_once(faulty: Any, route: str) -> None:
    """The one case an append without a key can store twice: its write is still in flight
    when storage stops answering, so settling cannot fence it (503), and it lands afterwards.
    The client's resend under the same key finds that write and stores nothing more."""
    conversation_id = open_live()
    send = append if route == "conversations" else run_append
    client = faulty(
        transact_write_items=["deliver-late", *[throttled("TransactWriteItems")] * FOREVER],
        update_item=[throttled("UpdateItem")] * FOREVER,
        get_item=[throttled("GetItem")] * FOREVER,
    )
    unavailable(send(conversation_id, MESSAGES, **keyed("k-open")))
    assert client.deliver_late() == [True]  # the first attempt is stored after all
    faulty()
    answer = send(conversation_id, MESSAGES, **keyed("k-open"))
    assert answer.status == 200, answer.body
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]


def lose_saved_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key's answer cannot be saved (storage fails after the work committed), and its
    claim is expired by the time the client resends (claims last 0 s)."""
    client = FaultyClient({"put_item": [None, *[throttled("PutItem")] * FOREVER]})
    store = IdempotencyStore(client, get_settings().idempotency_table, 3600, 0)  # type: ignore[arg-type]
    monkeypatch.setattr(services, "idempotency_store", lambda: store)


@pytest.mark.parametrize("route", ["conversations", "runs"])
def test_a_keyed_append_whose_answer_was_not_saved_is_stored_once(
    faulty: Any, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    conversation_id = open_live()
    send = append if route == "conversations" else run_append
    faulty()
    lose_saved_answers(monkeypatch)
    unavailable(send(conversation_id, MESSAGES, **keyed("k-unsaved")))
    monkeypatch.undo()  # the idempotency store works again (the conversations one is reset)
    faulty()
    answer = send(conversation_id, MESSAGES, **keyed("k-unsaved"))
    assert answer.status == 200, answer.body
    assert get(conversation_id).body["messages"] == MESSAGES["messages"]


@pytest.mark.parametrize("route", ["conversations", "runs"])
def test_a_keyed_create_whose_answer_was_not_saved_makes_one_conversation(
    faulty: Any, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    tenant = fresh_tenant()

    def send() -> Any:
        if route == "conversations":
            body = {"promptId": "p", "content": "User: hi"}
            return create(body, tenant, **keyed("k-create"))
        run = {"agentName": "Bot", "messages": MESSAGES["messages"]}
        event = api_event("POST", RUNS, body=run, tenant=tenant, **keyed("k-create"))
        return invoke(runs_create_handler, event)

    faulty()
    lose_saved_answers(monkeypatch)
    unavailable(send())
    monkeypatch.undo()
    faulty()
    answer = send()
    assert answer.status == 200, answer.body
    created = answer.body["data"] if route == "runs" else answer.body
    assert [c["id"] for c in list_(tenant).body["data"]] == [created["id"]]
