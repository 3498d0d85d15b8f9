"""The replaced APIs' documented example bodies, read from events/ so each lives in one place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


def body_text(event_file: str) -> str:
    """The request body of events/<event_file>.json, verbatim (what curl would send)."""
    body: str = json.loads((EVENTS / f"{event_file}.json").read_text())["body"]
    return body


def body(event_file: str) -> Any:
    return json.loads(body_text(event_file))


SEED_000_CURL = body_text("ingest_standard")  # /v1/ingest docs, the curl example
SEED_000_MIXED = body_text("ingest_mixed")  # /v1/ingest docs, the mixed batch
SEED_002_MIXED = body_text("ingest_multi_mixed")  # /v1/ingest/multi docs, environment staging
SEED_003_CALL = body_text("ingest_vogent_raw_call")  # vogent-raw docs, the five-entry call
