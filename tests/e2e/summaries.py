"""Waiting for conversation summaries: the summaries worker keeps them from the records table's
stream, so a conversation is listed a moment after its records are stored (the records
themselves are readable at once). Tests poll for them with a bounded wait, never a fixed sleep."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from tests.e2e.client import request

POLL_SECONDS = 0.05


def listed_conversations(base: str, key: str) -> list[dict[str, Any]] | None:
    """Every ingest conversation of the key's tenant (all pages); None on a non-200 answer."""
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        query = "limit=200" + (f"&cursor={quote(cursor)}" if cursor else "")
        reply = request("GET", f"{base}/v1/conversations?{query}", key=key)
        if reply.status != 200:
            return None  # e.g. an injected storage fault: asked again
        found += reply.body["data"]
        cursor = reply.body["nextCursor"]
        if not cursor:
            return found


def wait_for_summaries(
    base: str, key: str, records: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """The tenant's ingest conversations once their summaries count `records` records."""
    deadline = time.monotonic() + timeout
    while True:
        listed = listed_conversations(base, key)
        counted = sum(c["recordCount"] for c in listed or [])
        if listed is not None and counted == records:
            return listed
        if time.monotonic() > deadline:
            raise AssertionError(
                f"summaries count {counted} of {records} records after {timeout} s"
            )
        time.sleep(POLL_SECONDS)
