"""Summaries from the records table's stream: records written by the real handlers, the stream
read from moto, passed through the template's filter and the summaries worker's handler, the
result read through GET /v1/conversations."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.streams import wanted
from functions.summaries_worker.app import handler as summaries_handler
from shared import services
from shared.dynamo import Deadline
from shared.errors import StorageUnavailable
from shared.ingest.summaries import SummaryStore
from shared.otel.store import TraceMap
from shared.settings import get_settings
from tests.integration.records_stream import MAPPING, RecordsStream, records_stream
from tests.integration.test_conversation_summaries import chat, fresh_tenant, ingest
from tests.support import Answer, LambdaContext, api_event, invoke, records_event


@pytest.fixture
def stream(dynamodb: Any) -> RecordsStream:
    reader = records_stream()
    reader.settle()  # what earlier tests wrote is not this test's batch
    return reader


def listing(tenant: str) -> Answer:
    from functions.ingest_conversations.app import handler

    event = api_event("GET", "/v1/conversations", resource="/v1/conversations", tenant=tenant)
    answer = invoke(handler, event)
    assert answer.status == 200, answer.body
    return answer


def summaries(tenant: str) -> dict[str, dict[str, Any]]:
    return {c["conversationId"]: c for c in listing(tenant).body["data"]}


def run(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Records as the mapping delivers them: what its filter passes, in one invocation."""
    batch = [r for r in records if wanted(MAPPING, r)]
    result: dict[str, Any] = summaries_handler({"Records": batch}, LambdaContext())
    return result


def records_of(tenant: str, conversation_id: str) -> Answer:
    from functions.records.app import handler

    return invoke(handler, records_event(conversation_id, tenant=tenant))


def test_the_summary_follows_the_stream_and_the_records_are_readable_at_once(
    stream: RecordsStream,
) -> None:
    tenant = fresh_tenant()
    ingest(tenant, [chat("a"), chat("a", "more"), chat("b")])
    # Stored means readable: the records answer before any summary exists.
    assert len(records_of(tenant, "a").body["data"]) == 2
    assert summaries(tenant) == {}
    assert run(stream.read()) == {"batchItemFailures": []}
    found = summaries(tenant)
    assert set(found) == {"a", "b"}
    assert found["a"]["recordCount"] == 2
    assert found["a"]["sources"] == ["chat"]
    assert found["a"]["environment"] == "production"
    assert found["a"]["firstActivityAt"] <= found["a"]["lastActivityAt"]


def test_a_resend_counts_each_record_once_and_moves_the_activity(stream: RecordsStream) -> None:
    tenant = fresh_tenant()
    events = [{**chat("a"), "id": "m1"}, {**chat("a"), "id": "m2"}]
    ingest(tenant, events)
    stream.settle()
    before = summaries(tenant)["a"]
    ingest(tenant, events, environment="staging")  # the same ids: the records are overwritten
    stream.settle()
    after = summaries(tenant)["a"]
    assert after["recordCount"] == 2  # counted twice before this worker
    assert after["environment"] == "staging"
    assert after["lastActivityAt"] >= before["lastActivityAt"]
    assert after["firstActivityAt"] == before["firstActivityAt"]


def test_a_redelivered_batch_changes_nothing(stream: RecordsStream) -> None:
    tenant = fresh_tenant()
    ingest(tenant, [chat("a"), chat("b"), chat("b")])
    records = stream.read()
    assert run(records) == {"batchItemFailures": []}
    first = listing(tenant).body
    assert run(records) == {"batchItemFailures": []}  # Lambda's retry of the same batch
    assert listing(tenant).body == first


def test_a_batch_re_cut_after_a_partial_failure_counts_each_record_once(
    stream: RecordsStream,
) -> None:
    """Lambda retries from the reported record with a batch of its own making: the records
    of a conversation already applied come again, some of them beside new ones."""
    tenant = fresh_tenant()
    ingest(tenant, [chat("a"), chat("b"), chat("a")])
    first = stream.read()
    ingest(tenant, [chat("a", "later")])
    later = stream.read()
    assert run(first) == {"batchItemFailures": []}
    assert run(first[1:] + later) == {"batchItemFailures": []}
    found = summaries(tenant)
    assert (found["a"]["recordCount"], found["b"]["recordCount"]) == (3, 1)


def test_a_storage_fault_is_retried_from_the_failed_conversation_never_dropped(
    stream: RecordsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = fresh_tenant()
    ingest(tenant, [chat("a"), chat("b"), chat("c")])
    records = [r for r in stream.read() if r["dynamodb"]["Keys"]["pk"]["S"].startswith(tenant)]
    client = services.summary_store()._client
    real_update = client.update_item

    def failing_for_b(**request: Any) -> Any:
        if request["Key"]["pk"]["S"] == f"{tenant}#b":
            raise StorageUnavailable()  # what call_with_retry raises once its deadline passed
        return real_update(**request)

    monkeypatch.setattr(client, "update_item", failing_for_b)
    answer = run(records)
    (failure,) = answer["batchItemFailures"]
    assert failure["itemIdentifier"] == records[1]["dynamodb"]["SequenceNumber"]  # b's record
    assert set(summaries(tenant)) == {"a", "c"}

    monkeypatch.setattr(client, "update_item", real_update)
    assert run(records[1:]) == {"batchItemFailures": []}  # Lambda's retry from b
    assert {k: v["recordCount"] for k, v in summaries(tenant).items()} == {"a": 1, "b": 1, "c": 1}


def test_records_moved_away_take_their_conversation_out_of_the_list(
    stream: RecordsStream,
) -> None:
    """An OTel trace's records are moved to the conversation its root names (REMOVE + INSERT):
    the placeholder conversation leaves the list once it holds no record."""
    tenant = fresh_tenant()
    ingest(tenant, [chat("placeholder"), chat("placeholder", "2"), chat("kept")])
    stream.settle()
    assert summaries(tenant)["placeholder"]["recordCount"] == 2
    store = services.record_store()
    items = store.partition(tenant, "placeholder", Deadline(5))
    store.delete([{"pk": i["pk"], "sk": i["sk"]} for i in items[:1]], Deadline(5))
    stream.settle()
    assert summaries(tenant)["placeholder"]["recordCount"] == 1
    store.delete([{"pk": i["pk"], "sk": i["sk"]} for i in items[1:]], Deadline(5))
    records = stream.read()
    assert run(records) == {"batchItemFailures": []}
    assert set(summaries(tenant)) == {"kept"}
    assert run(records) == {"batchItemFailures": []}  # a retry after the drop changes nothing
    assert set(summaries(tenant)) == {"kept"}


def test_trace_map_items_never_become_summaries(stream: RecordsStream, dynamodb: Any) -> None:
    tenant = fresh_tenant()
    settings = get_settings()
    trace_map = TraceMap(dynamodb, settings.records_table, services.record_store()._writer)
    trace_map.remember(tenant, {"4bf92f3577b34da6a3ce929d0e0e4736": "conv-1"}, Deadline(5))
    records = stream.read()
    assert records, "the trace map item is on the stream"
    assert run(records) == {"batchItemFailures": []}  # the filter passes none of them
    # Without the filter (sam local invoke, a replay) the worker skips them itself.
    assert summaries_handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
    assert summaries(tenant) == {}


def test_ingest_makes_no_summary_calls(
    stream: RecordsStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ingest write path writes records only: the summary is the worker's."""
    calls: list[str] = []
    for name in ("apply", "_update", "_drop_if_empty"):
        monkeypatch.setattr(SummaryStore, name, lambda *a, _n=name, **k: calls.append(_n))
    tenant = fresh_tenant()
    ingest(tenant, [chat("a"), chat("b")])
    assert calls == []
    assert len(stream.read()) == 2  # both records are on the stream for the worker


def test_a_record_written_and_moved_within_one_batch_leaves_no_summary(
    stream: RecordsStream,
) -> None:
    tenant = fresh_tenant()
    ingest(tenant, [chat("placeholder")])
    store = services.record_store()
    (item,) = store.partition(tenant, "placeholder", Deadline(5))
    store.delete([{"pk": item["pk"], "sk": item["sk"]}], Deadline(5))
    assert run(stream.read()) == {"batchItemFailures": []}  # INSERT and REMOVE together
    assert summaries(tenant) == {}
