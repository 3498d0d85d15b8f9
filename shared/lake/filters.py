"""The parameters every reader of the lake takes the same way (search, analytics): which names
a route knows, the exact-match filters, the `metadata.<key>=<value>` filters and the time range.
One rule for each, read with the one query parser (shared/query.py), so a filter means the
same thing, and is refused with the same 400, on every route that has it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared import query
from shared.lake.models import SOURCES

# Filter parameter → the lake column it matches exactly.
EXACT_FILTERS = {
    "environment": "environment",
    "source": "source",
    "role": "role",
    "model": "model",
    "conversationId": "conversation_id",
}
METADATA_PREFIX = "metadata."
MAX_FILTER_CHARS = 256
METADATA_KEY = re.compile(r"[A-Za-z0-9_\-$@]+(\.[A-Za-z0-9_\-$@]+)*")
KEY_RULE = "keys of letters, digits, _ - $ @, nested keys joined by dots"


@dataclass(frozen=True)
class Filters:
    exact: tuple[tuple[str, str], ...]  # (lake column, value)
    metadata: tuple[tuple[str, str], ...]  # (dotted key, value), sorted


def gather(params: Iterable[tuple[str, str]], own: Set[str], route: str) -> dict[str, str]:
    """The request's parameters by name: a name the route does not know (its `own`, the
    filters, `metadata.<key>`) or one given twice is a 400 naming it."""
    values: dict[str, str] = {}
    for name, value in params:
        if name not in own and name not in EXACT_FILTERS and not name.startswith(METADATA_PREFIX):
            raise query.invalid(name, f"is not a parameter of {route}")
        if name in values:
            raise query.invalid(name, "is given more than once")
        values[name] = value
    return values


def metadata_key(name: str, key: str) -> str:
    """`key` (after `metadata.`) when it is a dotted key, else the 400 naming `name`."""
    if not METADATA_KEY.fullmatch(key) or len(key) > MAX_FILTER_CHARS:
        raise query.invalid(name, f"must be metadata.<key> with {KEY_RULE}")
    return key


def filters(values: dict[str, str]) -> Filters:
    query.choice(values, "source", SOURCES)
    exact = []
    for name, column in EXACT_FILTERS.items():
        wanted = query.text(values, name, max_chars=MAX_FILTER_CHARS)
        if wanted is not None:
            exact.append((column, wanted))
    metadata = []
    for name in values:
        if name.startswith(METADATA_PREFIX):
            key = metadata_key(name, name.removeprefix(METADATA_PREFIX))
            wanted = query.text(values, name, max_chars=MAX_FILTER_CHARS)
            metadata.append((key, wanted or ""))
    return Filters(tuple(exact), tuple(sorted(metadata)))


def instant(values: dict[str, str], name: str, end_of_day: bool) -> datetime | None:
    """`since`/`until`: a date (its midnight UTC; with `end_of_day`, the next midnight, so an
    `until` day is included) or a UTC time; None when absent."""
    raw = values.get(name)
    if raw is None:
        return None
    start = query.instant(name, raw).replace(tzinfo=UTC)
    return start + timedelta(days=1) if end_of_day and len(raw) == 10 else start
