"""The conversation a span names itself (the trace's is resolved per request, in the service)."""

from __future__ import annotations

from shared.fields import MAX_ID_CHARS
from shared.otel.models import SpanRejected, SpanView, where
from shared.otel.semconv import CONVERSATION_KEYS


def explicit_conversation(span: SpanView) -> str | None:
    """The conversation a span names itself, if any. Refuses a span without valid ids: the
    trace id stands in for a missing conversation, and ids key tool calls and calls."""
    if len(span.trace_id) != 32 or not span.trace_id.strip("0"):
        raise SpanRejected(f"{where(span)}: trace_id must be 16 bytes, not all zero")
    if len(span.span_id) != 16 or not span.span_id.strip("0"):
        raise SpanRejected(f"{where(span)}: span_id must be 8 bytes, not all zero")
    for key in CONVERSATION_KEYS:
        value = span.attributes.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SpanRejected(f"{where(span)}: {key} must be a string")
        conversation = str(value)
        if len(conversation) > MAX_ID_CHARS:
            raise SpanRejected(
                f"{where(span)}: {key} is {len(conversation):,} characters; "
                f"the limit is {MAX_ID_CHARS} characters"
            )
        return conversation
    return None
