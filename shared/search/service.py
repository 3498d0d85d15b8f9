"""Search: the request run on the tenant's index and on the lake's not-yet-compacted tail, the
two merged (a record's newest version wins), and paged with a signed, tenant-bound cursor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared import cursors
from shared.errors import BadRequest
from shared.lake.query import files_in_range
from shared.lake.store import LakeStore, read_listed
from shared.search import index as search_index
from shared.search import store
from shared.search.models import MAX_RESULTS, Hit, SearchRequest


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    next_offset: int | None


def _scope(tenant: str, request: SearchRequest) -> tuple[str, ...]:
    return ("search", tenant, *request.scope())


def _offset(tenant: str, request: SearchRequest) -> int:
    if request.cursor is None:
        return 0
    values = cursors.unseal(request.cursor, _scope(tenant, request))
    if not values or not values[0].isdigit():
        raise BadRequest("'cursor' is not a cursor of this search; start again without it")
    return int(values[0])


def next_cursor(tenant: str, request: SearchRequest, page: Page) -> str | None:
    if page.next_offset is None:
        return None
    return cursors.seal([str(page.next_offset)], _scope(tenant, request))


def _tail(
    lake: LakeStore, tenant: str, request: SearchRequest, indexed: dict[str, str]
) -> list[dict[str, Any]]:
    """The newest row of each record in the tenant's files the index does not cover: stream
    batches, and a compacted file not indexed yet. A file compacted away between the listing
    and its reading means a new listing (`read_listed`)."""
    first = request.since.date().isoformat() if request.since else None
    last = (request.until - timedelta(microseconds=1)).date().isoformat() if request.until else None

    def listed_then_read() -> list[dict[str, Any]]:
        paths = [
            lake.cached_copy(file, store.cache_dir())
            for file in files_in_range(lake, tenant, first, last)
            if indexed.get(file.partition.date) != file.name
        ]
        return list(store.latest_rows(paths))

    return read_listed(listed_then_read)


def search(tenant: str, request: SearchRequest) -> Page:
    offset = _offset(tenant, request)
    count = min(offset + request.limit + 1, MAX_RESULTS + 1)
    lake = store.lake_store()
    opened = search_index.open_index(lake, tenant)
    tail = _tail(lake, tenant, request, opened.manifest if opened else {})
    if opened is not None:  # a tail row older than the indexed one is a stale batch file
        versions = search_index.indexed_versions(opened.index, [r["identity"] for r in tail])
        tail = [r for r in tail if r["version"] > versions.get(r["identity"], -1)]
    relevance = request.sort == "relevance"
    candidates: list[tuple[float, Any, Any]] = []
    if opened is not None:
        shadowed = [r["identity"] for r in tail]
        query = search_index.build_query(request, shadowed)
        searcher, found = search_index.ranked(opened.index, query, request, count)
        candidates += [(key, searcher, address) for key, address in found]
    live = [r for r in tail if not r["deleted"]]
    if live:
        query = search_index.build_query(request, [])
        searcher, found = search_index.ranked(search_index.in_memory(live), query, request, count)
        candidates += [(key, searcher, address) for key, address in found]
    candidates.sort(key=lambda c: c[0], reverse=True)  # stable: ties keep each index's order
    shown = candidates[offset : offset + request.limit]
    hits = [search_index.hit(s, a, key if relevance else None) for key, s, a in shown]
    more = len(candidates) > offset + request.limit and offset + request.limit < MAX_RESULTS
    return Page(hits, offset + request.limit if more else None)
