"""Entry points of the two event-driven webhook functions (stream fan-out, SQS delivery), in
the shapes Lambda's event source mappings use (ReportBatchItemFailures)."""

from __future__ import annotations

from typing import Any

from shared import logs, services
from shared.dynamo import Deadline
from shared.settings import get_settings

_MARGIN_SECONDS = 2.0  # kept back from the function's remaining time to answer the batch


def _deadline(context: Any) -> Deadline:
    budget = get_settings().storage_deadline_seconds
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining = context.get_remaining_time_in_millis() / 1000
        budget = min(budget, max(remaining - _MARGIN_SECONDS, 0.5))
    return Deadline(budget)


def _failures(identifiers: list[str]) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


def fan_out(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """DynamoDB stream batch → delivery messages."""
    logs.configure(get_settings().log_level)
    records = event.get("Records") or []
    return _failures(services.fan_out().handle(records, _deadline(context)))


def deliver(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch → signed POSTs."""
    logs.configure(get_settings().log_level)
    records = event.get("Records") or []
    return _failures(services.deliverer().handle(records, _deadline(context)))
