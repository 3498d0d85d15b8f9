"""The one retry loop (shared/retry.py) under both rules that use it: DynamoDB's
(shared.dynamo.is_transient) and SQS's (shared.webhooks.queue.is_transient_queue_fault)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared import retry as retry_module
from shared.dynamo import call_with_retry, is_transient
from shared.errors import StorageUnavailable
from shared.retry import Deadline, retry
from shared.webhooks.queue import is_transient_queue_fault


def client_error(code: str, status: int = 400) -> ClientError:
    answer: Any = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(answer, "Op")


class Flaky:
    """Raises each of `faults` in turn, then answers."""

    def __init__(self, faults: list[Exception]) -> None:
        self.faults = list(faults)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.faults:
            raise self.faults.pop(0)
        return "answer"


@pytest.fixture(autouse=True)
def no_sleeping(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(retry_module.time, "sleep", slept.append)
    return slept


RULES: dict[str, Callable[[Exception], bool]] = {
    "dynamodb": is_transient,
    "sqs": is_transient_queue_fault,
}
TRANSIENT_FOR_BOTH = [
    client_error("ThrottlingException"),
    client_error("InternalFailure", 500),
    client_error("ServiceUnavailable", 503),
    EndpointConnectionError(endpoint_url="http://x"),
]


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("fault", TRANSIENT_FOR_BOTH, ids=lambda f: type(f).__name__)
def test_a_transient_fault_is_retried_until_the_answer(rule: str, fault: Exception) -> None:
    operation = Flaky([fault, fault])
    assert retry(operation, Deadline(5), transient=RULES[rule], fault="f") == "answer"
    assert operation.calls == 3


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize(
    "fault",
    [
        client_error("ValidationException"),
        client_error("ConditionalCheckFailedException"),
        KeyError("x"),
    ],
    ids=lambda f: type(f).__name__,
)
def test_any_other_fault_is_raised_at_once(rule: str, fault: Exception) -> None:
    operation = Flaky([fault])
    with pytest.raises(type(fault)):
        retry(operation, Deadline(5), transient=RULES[rule], fault="f")
    assert operation.calls == 1


@pytest.mark.parametrize("code", ["RequestThrottled", "KmsThrottled"])
def test_sqs_throttling_is_transient_for_the_queue_only(code: str) -> None:
    assert is_transient_queue_fault(client_error(code))
    assert not is_transient(client_error(code))
    operation = Flaky([client_error(code)])
    with pytest.raises(ClientError):
        call_with_retry(operation, Deadline(5))  # DynamoDB's rule: not its fault to retry


def test_the_deadline_ends_retrying_with_storage_unavailable() -> None:
    operation = Flaky([client_error("ThrottlingException")] * 1000)
    with pytest.raises(StorageUnavailable):
        retry(operation, Deadline(0), transient=is_transient, fault="f")
    assert operation.calls == 1


def test_backoff_is_full_jitter_doubling_to_a_cap(
    monkeypatch: pytest.MonkeyPatch, no_sleeping: list[float]
) -> None:
    monkeypatch.setattr(retry_module.random, "uniform", lambda low, high: high)  # the ceiling
    operation = Flaky([client_error("ThrottlingException")] * 8)
    assert retry(operation, Deadline(60), transient=is_transient, fault="f") == "answer"
    assert no_sleeping == [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
