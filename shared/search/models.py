"""A search request as the API takes it (`GET /v1/search`), checked: every problem is a
BadRequest that names the parameter, so a bad query is a 400 saying what to fix."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared import query
from shared.errors import BadRequest
from shared.lake import filters
from shared.search import analysis

MAX_QUERY_CHARS = 500
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# How deep paging goes (offset + limit): past it the client narrows the query. Both sources
# (index and tail) collect this many hits at most for one page.
MAX_RESULTS = 10_000

_OTHER_PARAMETERS = {"q", "since", "until", "sort", "limit", "cursor"}

Sort = Literal["relevance", "recent"]


@dataclass(frozen=True)
class Clause:
    """One query word or quoted phrase, as the terms it analyzes to (several terms: a phrase)."""

    text: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class SearchRequest:
    q: str
    required: tuple[Clause, ...]
    excluded: tuple[Clause, ...]
    exact: tuple[tuple[str, str], ...] = ()  # (lake column, value)
    metadata: tuple[tuple[str, str], ...] = ()  # (dotted key, value)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    sort: Sort = "relevance"
    limit: int = DEFAULT_LIMIT
    cursor: str | None = field(default=None, compare=False)

    def scope(self) -> tuple[str, ...]:
        """What a cursor is bound to besides the tenant: everything but the cursor itself."""
        return (
            self.q,
            repr(self.exact),
            repr(self.metadata),
            str(self.since),
            str(self.until),
            self.sort,
        )

    @property
    def highlight_terms(self) -> frozenset[str]:
        return frozenset(t for clause in self.required for t in clause.terms)


def parse_query(q: str) -> tuple[tuple[Clause, ...], tuple[Clause, ...]]:
    """Words and "quoted phrases" are required, `-word` / `-"phrase"` excluded."""
    if not q.strip():
        raise BadRequest("'q' must not be empty")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"'q' must be at most {MAX_QUERY_CHARS} characters (got {len(q)})")
    if q.count('"') % 2:
        raise BadRequest("'q' has an unbalanced quote (\")")
    required: list[Clause] = []
    excluded: list[Clause] = []
    for match in re.finditer(r'(-?)(?:"([^"]*)"|([^\s"]+))', q):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        text = phrase if phrase is not None else word
        words = analysis.terms(text)
        if not words:  # punctuation only: nothing to match
            continue
        (excluded if negated else required).append(Clause(text, tuple(words)))
    if not required:
        if excluded:
            raise BadRequest("'q' has only exclusions (-word); add a word to search for")
        raise BadRequest("'q' has no searchable words (letters or digits)")
    return tuple(required), tuple(excluded)


def parse_request(params: Iterable[tuple[str, str]]) -> SearchRequest:
    """The request from its query parameters (name, value pairs, in order)."""
    values = filters.gather(params, _OTHER_PARAMETERS, "search")
    if "q" not in values:
        raise BadRequest("'q' is required")
    required, excluded = parse_query(values["q"])
    chosen = filters.filters(values)
    since = filters.instant(values, "since", end_of_day=False)
    until = filters.instant(values, "until", end_of_day=True)
    if since and until and since >= until:
        raise BadRequest("'since' must be before 'until'")
    sort = query.choice(values, "sort", ("relevance", "recent")) or "relevance"
    return SearchRequest(
        q=values["q"],
        required=required,
        excluded=excluded,
        exact=chosen.exact,
        metadata=chosen.metadata,
        since=since,
        until=until,
        sort="recent" if sort == "recent" else "relevance",
        limit=query.integer(values, "limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT),
        cursor=query.cursor(values),
    )


@dataclass(frozen=True)
class Hit:
    conversation_id: str
    record_id: str
    source: str
    role: str | None
    environment: str | None
    model: str | None
    ts_us: int  # microseconds since the epoch, UTC
    text: str
    score: float | None  # BM25 under sort=relevance; None under sort=recent
    version: int
