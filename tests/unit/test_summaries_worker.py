"""The summaries worker without storage: which stream records count, how a batch is aggregated
into one update per conversation, and how failures become a retry of the batch."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from shared.dynamo import Deadline
from shared.errors import StorageUnavailable
from shared.ingest.summaries import (
    SEQUENCE_DIGITS,
    Applied,
    RecordChange,
    SummaryStore,
    SummaryWorker,
    record_change,
)

SECOND = 1_767_323_045  # 2026-01-02T03:04:05Z
RECEIVED_NS = SECOND * 1_000_000_000 + 678_000_000


def stream_record(
    seq: int,
    kind: str = "INSERT",
    *,
    pk: str = "acme#c1",
    env: str = "production",
    source: str | None = "chat",
    received_ns: int = RECEIVED_NS,
    created: float | None = SECOND,
    image: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": f"rec_{seq}", "environment": env}
    if source is not None:
        rec["message_source"] = source
    new_image = image or {
        "pk": {"S": pk},
        "sk": {"S": f"rec_{seq}"},
        "ok": {"S": f"2026-01-02T03:04:05.000Z#{received_ns:020d}#{seq:06d}"},
        "env": {"S": env},
        "rec": {"S": json.dumps(rec)},
    }
    stream: dict[str, Any] = {
        "Keys": {"pk": new_image["pk"], "sk": new_image["sk"]},
        "SequenceNumber": f"{111000000000000000000 + seq}",
        "StreamViewType": "NEW_IMAGE",
    }
    if created is not None:
        stream["ApproximateCreationDateTime"] = created
    if kind != "REMOVE":
        stream["NewImage"] = new_image
    return {"eventName": kind, "eventSource": "aws:dynamodb", "dynamodb": stream}


def change(seq: int, kind: str = "INSERT", **fields: Any) -> RecordChange:
    found = record_change(stream_record(seq, kind, **fields))
    assert found is not None
    return found


# --- which records count --------------------------------------------------------------------


def test_a_record_insert_carries_env_source_and_activity() -> None:
    found = change(1, env="staging", source="email")
    assert found.pk == "acme#c1"
    assert found.kind == "INSERT"
    assert (found.environment, found.source) == ("staging", "email")
    assert found.activity == "2026-01-02T03:04:05.678Z"  # the receive time, to the millisecond
    assert found.stream_sequence == "111000000000000000001"
    assert len(found.sequence) == SEQUENCE_DIGITS
    assert int(found.sequence) == int(found.stream_sequence)


def test_trace_map_items_and_other_non_records_are_skipped() -> None:
    trace = {"pk": {"S": "trace|acme|4bf92f35"}, "sk": {"S": "trace"}, "c": {"S": "c1"}}
    assert record_change(stream_record(1, image=trace)) is None
    assert record_change(stream_record(2, "REMOVE", image=trace)) is None
    no_order = {"pk": {"S": "acme#c1"}, "sk": {"S": "x"}, "env": {"S": "production"}}
    assert record_change(stream_record(3, image=no_order)) is None
    assert record_change({"eventName": "INSERT"}) is None
    assert record_change({"eventName": "EXPIRE", "dynamodb": {"SequenceNumber": "1"}}) is None


def test_a_remove_of_a_record_is_a_change_without_activity() -> None:
    found = change(1, "REMOVE")
    assert (found.kind, found.pk, found.activity) == ("REMOVE", "acme#c1", "")


def test_a_record_without_a_source_counts_as_unknown() -> None:
    assert change(1, source=None).source == "unknown"


def test_activity_is_the_stream_second_when_the_receive_time_is_elsewhere() -> None:
    # An OTel span's own time, or an archive replay's original receive time, sits in `ok`.
    assert change(1, received_ns=RECEIVED_NS - 86_400 * 10**9).activity == (
        "2026-01-02T03:04:05.000Z"
    )
    # Without the stream's time (a hand-made event), the receive time.
    assert change(2, created=None).activity == "2026-01-02T03:04:05.678Z"


# --- one update per conversation, failures retried --------------------------------------------


class FakeStore(SummaryStore):
    def __init__(self, fail: set[str] | None = None) -> None:
        self.applied: list[list[RecordChange]] = []
        self.fail = fail or set()
        self.lock = threading.Lock()

    def apply(self, changes: Sequence[RecordChange], deadline: Deadline) -> Applied:
        if changes[0].pk in self.fail:
            raise StorageUnavailable()
        with self.lock:
            self.applied.append(list(changes))
        return "applied"


def test_a_batch_is_one_apply_per_conversation_in_stream_order() -> None:
    store = FakeStore()
    worker = SummaryWorker(store, 5.0, 4)
    event = {
        "Records": [
            stream_record(1, pk="acme#a"),
            stream_record(2, pk="acme#b"),
            stream_record(3, "MODIFY", pk="acme#a"),
            stream_record(4, image={"pk": {"S": "trace|acme|ff"}, "sk": {"S": "trace"}}),
            stream_record(5, "REMOVE", pk="acme#b"),
        ]
    }
    assert worker.handle(event) == {"batchItemFailures": []}
    by_pk = {changes[0].pk: [c.kind for c in changes] for changes in store.applied}
    assert by_pk == {"acme#a": ["INSERT", "MODIFY"], "acme#b": ["INSERT", "REMOVE"]}


def test_a_failed_conversation_retries_the_batch_from_its_first_record() -> None:
    store = FakeStore(fail={"acme#b", "acme#c"})
    worker = SummaryWorker(store, 5.0, 4)
    event = {
        "Records": [
            stream_record(1, pk="acme#a"),
            stream_record(2, pk="acme#c"),
            stream_record(3, pk="acme#b"),
            stream_record(4, pk="acme#b"),
        ]
    }
    answer = worker.handle(event)
    # Lambda retries from record 2: a's update is skipped then (its `seq`), b and c applied.
    assert answer == {"batchItemFailures": [{"itemIdentifier": "111000000000000000002"}]}
    assert [changes[0].pk for changes in store.applied] == ["acme#a"]


# --- the update a batch makes -----------------------------------------------------------------


class RecordingClient:
    """Answers UpdateItem like DynamoDB would for a new summary; records the requests."""

    class exceptions:
        ConditionalCheckFailedException = ClientError

    def __init__(self, n_after: int = 1) -> None:
        self.requests: list[dict[str, Any]] = []
        self.n_after = n_after

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"Attributes": {"n": {"N": str(self.n_after)}, "seq": request["Key"]}}

    def delete_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {}


def test_inserts_count_modifies_move_activity_only_and_the_latest_env_wins() -> None:
    client = RecordingClient()
    store = SummaryStore(client, "summaries")  # type: ignore[arg-type]
    changes = [
        change(1, env="production", source="chat", received_ns=RECEIVED_NS),
        change(2, "MODIFY", env="staging", source="email", received_ns=RECEIVED_NS + 10**8),
        change(3, env="staging", source="chat", received_ns=RECEIVED_NS - 10**8),
    ]
    assert store.apply(changes, Deadline(5)) == "applied"
    (request,) = client.requests
    values = request["ExpressionAttributeValues"]
    assert values[":n"] == {"N": "2"}  # two INSERTs; the MODIFY stored the same record again
    assert values[":e"] == {"S": "staging"}
    assert values[":s"] == {"SS": ["chat", "email"]}
    assert values[":first"] == {"S": "2026-01-02T03:04:05.578Z"}
    assert values[":last"] == {"S": "2026-01-02T03:04:05.778Z"}
    assert values[":g"] == {"S": "2026-01-02T03:04:05.778Z#c1"}
    assert values[":t"] == {"S": "acme"}
    # Applied only over a summary that has seen none of these records.
    assert request["ConditionExpression"] == "attribute_not_exists(seq) OR seq < :lo"
    assert values[":lo"] == {"S": changes[0].sequence}
    assert values[":seq"] == {"S": changes[2].sequence}
    assert "if_not_exists(#first, :first)" in request["UpdateExpression"]


def test_removals_alone_never_create_a_summary_and_an_emptied_one_is_dropped() -> None:
    client = RecordingClient(n_after=0)
    store = SummaryStore(client, "summaries")  # type: ignore[arg-type]
    removal = change(7, "REMOVE")
    assert store.apply([removal], Deadline(5)) == "applied"
    update, delete = client.requests
    assert update["UpdateExpression"] == "SET seq = :seq ADD n :n"
    assert update["ExpressionAttributeValues"][":n"] == {"N": "-1"}
    assert update["ConditionExpression"].startswith("attribute_exists(pk) AND ")
    assert delete["ConditionExpression"] == "seq = :seq AND n <= :zero"
    assert delete["ExpressionAttributeValues"][":seq"] == {"S": removal.sequence}


def test_sequence_numbers_compare_as_numbers() -> None:
    def sequence(number: str) -> str:
        record = stream_record(1)
        record["dynamodb"]["SequenceNumber"] = number
        found = record_change(record)
        assert found is not None
        return found.sequence

    assert sequence("9") < sequence("10")  # unpadded, "9" > "10"
    assert sequence("9" * 39) < sequence("1" + "0" * 39)  # 40 digits: more than an N holds


@pytest.mark.parametrize("fault", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_a_storage_fault_past_the_deadline_is_retried_not_dropped(fault: str) -> None:
    class Throttled(RecordingClient):
        def update_item(self, **request: Any) -> dict[str, Any]:
            raise ClientError(
                {"Error": {"Code": fault}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "UpdateItem",
            )

    worker = SummaryWorker(SummaryStore(Throttled(), "summaries"), 0.05, 2)  # type: ignore[arg-type]
    answer = worker.handle({"Records": [stream_record(1), stream_record(2, pk="acme#c2")]})
    assert answer == {"batchItemFailures": [{"itemIdentifier": "111000000000000000001"}]}
