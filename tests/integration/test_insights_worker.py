"""The insights worker on real stream records: conversations written through the real handlers,
their records read from the table's stream (moto), passed through the template's filter and the
worker's handler."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from devtools.streams import (
    StreamMapping,
    stream_mappings,
    wanted,
)
from devtools.template import load_template
from functions.insights_worker.app import handler as worker_handler
from shared import services
from shared.conversations.store.items import conversation_key
from shared.insights.analysis import Analysis, AnalysisFailed, AnalysisUnavailable, Messages
from shared.insights.sdk import sdk_insights
from shared.insights.worker import InsightsWorker
from tests.integration.conversations import append, create, get, insights
from tests.integration.records_stream import StreamReader
from tests.support import LambdaContext

CONTENT = (
    "User: Can you move my delivery to Friday?\n"
    "Assistant: I've rescheduled the delivery for Friday morning.\n"
    "User: Great, thanks!"
)
TURNS = [
    {"role": "user", "content": "Can you move my delivery to Friday?"},
    {"role": "assistant", "content": "I've rescheduled the delivery for Friday morning."},
    {"role": "user", "content": "Great, thanks!"},
]
(MAPPING,) = (
    m for m in stream_mappings(load_template()) if m.function.logical_id == "InsightsWorkerFunction"
)


@pytest.fixture
def stream(dynamodb: Any) -> StreamReader:
    from shared.settings import get_settings

    return StreamReader(get_settings().conversations_table)


def meta_records(records: list[dict[str, Any]], conversation_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in records
        if r["dynamodb"]["Keys"]["sk"]["S"] == "META"
        and r["dynamodb"]["Keys"]["pk"]["S"].endswith("#" + conversation_id)
    ]


def run(records: list[dict[str, Any]], mapping: StreamMapping = MAPPING) -> dict[str, Any]:
    """The records the template's filter passes, through the worker's handler."""
    batch = [r for r in records if wanted(mapping, r)]
    result: dict[str, Any] = worker_handler({"Records": batch}, LambdaContext())
    return result


def tenant() -> str:
    return f"ins-{uuid.uuid4().hex[:10]}"


def test_insert_of_a_completed_linked_conversation_is_analyzed(stream: StreamReader) -> None:
    owner = tenant()
    conversation_id = create({"promptId": "p_1", "content": CONTENT}, tenant=owner).body["id"]
    records = meta_records(stream.read(), conversation_id)
    assert [r["eventName"] for r in records] == ["INSERT"]
    assert wanted(MAPPING, records[0])

    assert run(records) == {"batchItemFailures": []}

    body = insights(conversation_id, tenant=owner).body
    assert body["sentiment"] == "positive"
    assert body["taskCompleted"] is True
    assert body["analyzer"] == "local"
    assert set(body) == {
        "conversationId", "sentiment", "sentimentScore", "taskCompleted", "topics", "summary",
        "issues", "createdAt", "analyzer",
    }  # fmt: skip
    assert "delivery" in " ".join(body["topics"])
    assert get(conversation_id, tenant=owner).body["insights"] == {
        k: v for k, v in body.items() if k != "conversationId"
    }
    # The worker's own write is a MODIFY the filter does not pass: it never wakes itself.
    (own_write,) = meta_records(stream.read(), conversation_id)
    assert own_write["eventName"] == "MODIFY"
    assert not wanted(MAPPING, own_write)


def test_modify_to_completed_is_analyzed_and_earlier_appends_are_not(
    stream: StreamReader,
) -> None:
    owner = tenant()
    conversation_id = create(
        {"promptName": "Checkout", "agentId": "agent_7", "status": "active"}, tenant=owner
    ).body["id"]
    append(conversation_id, {"messages": TURNS[:2]}, tenant=owner)
    opened = meta_records(stream.read(), conversation_id)
    assert [r["eventName"] for r in opened] == ["INSERT", "MODIFY"]
    assert not any(wanted(MAPPING, r) for r in opened)

    append(conversation_id, {"messages": TURNS[2:], "status": "completed"}, tenant=owner)
    (completing,) = meta_records(stream.read(), conversation_id)
    assert wanted(MAPPING, completing)
    run([completing])

    assert insights(conversation_id, tenant=owner).body["taskCompleted"] is True


def test_redelivery_and_a_second_completion_record_store_one_analysis(
    stream: StreamReader,
) -> None:
    owner = tenant()
    conversation_id = create({"promptId": "p_2", "content": CONTENT}, tenant=owner).body["id"]
    (record,) = meta_records(stream.read(), conversation_id)
    worker = services.insights_worker()

    assert worker.process(record) == "stored"
    first = insights(conversation_id, tenant=owner).body
    assert worker.process(record) == "already"  # redelivered
    # The same conversation announced as completed a second time (a replayed MODIFY).
    second = copy.deepcopy(record)
    second["eventName"] = "MODIFY"
    second["dynamodb"]["OldImage"] = {**record["dynamodb"]["NewImage"], "status": {"S": "active"}}
    assert wanted(MAPPING, second)
    assert worker.process(second) == "already"
    assert insights(conversation_id, tenant=owner).body == first


def test_two_workers_racing_store_one_analysis(stream: StreamReader) -> None:
    """The conditional write: a worker that analyzed late does not overwrite the first."""
    owner = tenant()
    conversation_id = create({"promptId": "p_3", "content": CONTENT}, tenant=owner).body["id"]
    store = services.conversation_store()
    from shared.dynamo import Deadline
    from shared.insights.analysis import Analysis

    def analysis(summary: str) -> dict[str, Any]:  # the stored shape (openapi: Insights)
        found = Analysis("neutral", 0.0, True, [], summary, [])
        return found.insights("2026-01-01T00:00:00.000Z", "local")

    assert store.save_insights(owner, conversation_id, analysis("first"), Deadline(5))
    assert not store.save_insights(owner, conversation_id, analysis("second"), Deadline(5))
    assert insights(conversation_id, tenant=owner).body["summary"] == "first"


def test_remove_records_are_ignored(stream: StreamReader, dynamodb: Any) -> None:
    owner = tenant()
    conversation_id = create({"promptId": "p_4", "content": CONTENT}, tenant=owner).body["id"]
    stream.read()
    from shared.settings import get_settings

    dynamodb.delete_item(
        TableName=get_settings().conversations_table,
        Key={"pk": {"S": conversation_key(owner, conversation_id)}, "sk": {"S": "META"}},
    )
    (removed,) = meta_records(stream.read(), conversation_id)
    assert removed["eventName"] == "REMOVE"
    assert not wanted(MAPPING, removed)
    assert services.insights_worker().process(removed) == "skipped"


def test_unlinked_conversation_is_never_analyzed(stream: StreamReader) -> None:
    owner = tenant()
    body = {"promptName": "free text", "content": CONTENT}
    conversation_id = create(body, tenant=owner).body["id"]
    (record,) = meta_records(stream.read(), conversation_id)

    assert not wanted(MAPPING, record)
    assert services.insights_worker().process(record) == "skipped"  # even without the filter
    reply = insights(conversation_id, tenant=owner)
    assert reply.status == 404
    assert "never analyzed" in reply.body["error"]["message"]
    conversation = services.conversation_service().get(owner, conversation_id, _deadline())
    assert sdk_insights(conversation)["status"] == "skipped"


def test_agent_name_gets_a_stable_agent_id_that_makes_it_analyzable(
    stream: StreamReader,
) -> None:
    owner = tenant()
    first = create(
        {"promptName": "x", "agentName": "Support bot", "content": CONTENT}, tenant=owner
    )
    again = create(
        {"promptName": "y", "agentName": "Support bot", "content": CONTENT}, tenant=owner
    )
    other = create({"promptName": "z", "agentName": "Sales bot", "content": CONTENT}, tenant=owner)
    elsewhere = create({"promptName": "x", "agentName": "Support bot", "content": CONTENT})

    def agent_of(conversation_id: str, who: str = owner) -> str:
        agent: str = get(conversation_id, tenant=who).body["agentId"]
        return agent

    agent = agent_of(first.body["id"])
    assert agent.startswith("agent_")
    assert agent_of(again.body["id"]) == agent
    assert agent_of(other.body["id"]) != agent
    assert agent_of(elsewhere.body["id"], "acme") != agent  # per tenant
    records = meta_records(stream.read(), first.body["id"])
    assert wanted(MAPPING, records[0])


class _Failing:
    name = "failing"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    def analyze(self, messages: Messages) -> Analysis:
        self.calls += 1
        raise self.exc


def _deadline() -> Any:
    from shared.dynamo import Deadline

    return Deadline(5)


def test_permanent_failure_is_recorded_as_failed(stream: StreamReader) -> None:
    owner = tenant()
    conversation_id = create({"promptId": "p_5", "content": CONTENT}, tenant=owner).body["id"]
    (record,) = meta_records(stream.read(), conversation_id)
    worker = InsightsWorker(services.conversation_store(), _Failing(AnalysisFailed("no text")), 5)

    assert worker.handle({"Records": [record]}) == {"batchItemFailures": []}

    reply = insights(conversation_id, tenant=owner)
    assert reply.status == 404
    assert "analysis failed" in reply.body["error"]["message"]
    conversation = services.conversation_service().get(owner, conversation_id, _deadline())
    assert sdk_insights(conversation)["status"] == "failed"
    # A later success (e.g. a replay after a fix) still stores insights and clears the failure.
    assert services.insights_worker().process(record) == "stored"
    conversation = services.conversation_service().get(owner, conversation_id, _deadline())
    assert sdk_insights(conversation)["executiveSummary"]


def test_unexpected_analyzer_error_is_a_failure_not_a_retry_loop(stream: StreamReader) -> None:
    owner = tenant()
    conversation_id = create({"promptId": "p_6", "content": CONTENT}, tenant=owner).body["id"]
    (record,) = meta_records(stream.read(), conversation_id)
    worker = InsightsWorker(services.conversation_store(), _Failing(KeyError("bug")), 5)

    assert worker.handle({"Records": [record]}) == {"batchItemFailures": []}
    assert "analysis failed" in insights(conversation_id, tenant=owner).body["error"]["message"]


def test_unavailable_analyzer_reports_the_record_for_retry(stream: StreamReader) -> None:
    owner = tenant()
    ids = [
        create({"promptId": "p_7", "content": CONTENT}, tenant=owner).body["id"] for _ in range(2)
    ]
    records = [r for r in stream.read() if r["dynamodb"]["Keys"]["sk"]["S"] == "META"]
    analyzer = _Failing(AnalysisUnavailable("throttled"))
    worker = InsightsWorker(services.conversation_store(), analyzer, 5)

    result = worker.handle({"Records": records})

    # Lambda retries from the first failure (the shard moves on once it succeeds or the retries
    # run out); nothing after it is attempted in this invocation.
    assert result == {
        "batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
    }
    assert analyzer.calls == 1
    for conversation_id in ids:
        assert "pending" in insights(conversation_id, tenant=owner).body["error"]["message"]


def test_a_cancelled_transaction_leaves_no_record_and_the_stream_goes_on(
    stream: StreamReader, dynamodb: Any
) -> None:
    """moto's rollback swaps the table for a copy; the patched rollback keeps the live stream."""
    from shared.settings import get_settings

    table = get_settings().conversations_table
    key = f"rollback-{uuid.uuid4().hex[:8]}"
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": key}, "sk": {"S": "A"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": key}, "sk": {"S": "B"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "sk": {"S": "C"}})

    seen = [r["dynamodb"]["Keys"]["sk"]["S"] for r in stream.read()]
    assert seen == ["C"]
