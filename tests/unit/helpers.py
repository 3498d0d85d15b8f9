"""Run the pipeline's validation and record building without storage."""

from __future__ import annotations

import json
from typing import Any

from shared.ingest.codec import record_text
from shared.ingest.service import Batch, IngestPolicy, RequestInfo, build_batch

INFO = RequestInfo(
    tenant_id="acme",
    request_id="req-1",
    received_at="2026-01-02T03:04:05.678Z",
    received_ns=1_767_323_045_678_000_000,
)


def batch(policy: IngestPolicy, payload: Any, info: RequestInfo = INFO) -> Batch:
    return build_batch(policy, payload, info)


def records(policy: IngestPolicy, *events: dict[str, Any], **request: Any) -> list[dict[str, Any]]:
    """The records of a request whose events must all be valid."""
    result = batch(policy, {"events": list(events), **request})
    assert not result.errors, result.errors
    return [json.loads(record_text(p.item["rec"]) or "") for p in result.prepared]


def record(policy: IngestPolicy, event: dict[str, Any], **request: Any) -> dict[str, Any]:
    (only,) = records(policy, event, **request)
    return only


def error(policy: IngestPolicy, event: dict[str, Any]) -> str:
    """The message for the first problem of a single invalid event."""
    result = batch(policy, {"events": [event]})
    assert result.errors, "expected the event to be refused"
    return result.errors[0].message
