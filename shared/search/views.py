"""A search hit as the API shows it: the matching passage (≤ 300 characters) and the offsets of
the matched terms in it, so a page highlights them without rendering any HTML from data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.fields import format_timestamp
from shared.search import analysis
from shared.search.models import Hit

SNIPPET_CHARS = 300
# How much text a snippet shows before its first match, when the text is longer than a snippet.
_LEAD_CHARS = 60
_ELLIPSIS = "…"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def snippet(text: str, terms: frozenset[str]) -> tuple[str, list[list[int]]]:
    """The passage around the first match, and [start, end) offsets (Unicode code points) of
    every matched term inside it."""
    matches = [t for t in analysis.tokens(text) if t.term in terms]
    if len(text) <= SNIPPET_CHARS:
        return text, [[t.start, t.end] for t in matches]
    start = max(0, matches[0].start - _LEAD_CHARS) if matches else 0
    prefix = _ELLIPSIS if start > 0 else ""
    room = SNIPPET_CHARS - len(prefix)
    if start + room < len(text):
        room -= len(_ELLIPSIS)
    body = text[start : start + room]
    suffix = _ELLIPSIS if start + room < len(text) else ""
    shift = len(prefix) - start
    end = start + room
    shown = [[t.start + shift, t.end + shift] for t in matches if start <= t.start and t.end <= end]
    return prefix + body + suffix, shown


def hit_view(hit: Hit, terms: frozenset[str]) -> dict[str, Any]:
    passage, highlights = snippet(hit.text, terms)
    return {
        "conversationId": hit.conversation_id,
        "recordId": hit.record_id,
        "source": hit.source,
        "role": hit.role,
        "environment": hit.environment,
        "model": hit.model,
        "timestamp": format_timestamp(_EPOCH + timedelta(microseconds=hit.ts_us)),
        "snippet": passage,
        "highlights": highlights,
        "score": hit.score,
    }
