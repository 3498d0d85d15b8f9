"""Limits of the OTLP endpoints (docs/otlp.md), beside those every ingest endpoint
shares: the 5 MB decompressed body (shared.body), 100 KB per message and 350,000 bytes per stored
record (shared.ingest), 50,000 records per request (shared.ingest.service)."""

from __future__ import annotations

from shared.ingest.records import MAX_MESSAGE_BYTES
from shared.ingest.service import MAX_RECORDS
from shared.ingest.store import MAX_RECORD_BYTES

# Spans in one export: the OpenTelemetry SDKs send at most 512 per batch by default.
MAX_SPANS = 5_000
# One attribute value the mapping reads (a whole `gen_ai.input.messages` history included).
MAX_ATTRIBUTE_BYTES = 1024 * 1024
# Messages one span may carry (prompt history and completions together).
MAX_MESSAGES_PER_SPAN = 1_000
# Tool calls one flat message may carry (`gen_ai.completion.N.tool_calls.M.*`).
MAX_TOOL_CALLS_PER_MESSAGE = 1_000
# A record's own content (text, blocks) may use this much of the stored record; the rest is
# left for ids, timestamps and metadata.
MAX_CONTENT_BYTES = MAX_RECORD_BYTES - 20_000

__all__ = [
    "MAX_ATTRIBUTE_BYTES",
    "MAX_CONTENT_BYTES",
    "MAX_MESSAGES_PER_SPAN",
    "MAX_MESSAGE_BYTES",
    "MAX_RECORDS",
    "MAX_SPANS",
    "MAX_TOOL_CALLS_PER_MESSAGE",
]
