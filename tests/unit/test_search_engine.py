"""Search over a lake written per the lake contract (tests/lake_support.py): text analysis,
the query language, filters, the tail merged with the index, paging and tenant isolation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.errors import BadRequest
from shared.search import index, service
from shared.search import store as search_store
from shared.search.models import parse_request
from shared.search.views import SNIPPET_CHARS, hit_view, snippet
from shared.settings import get_settings
from tests import lake_support
from tests.lake_support import row

T = "tenant-a"


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    get_settings.cache_clear()
    yield tmp_path / "lake"
    get_settings.cache_clear()


def search(tenant: str = T, **params: str) -> list[dict[str, Any]]:
    request = parse_request(params.items())
    page = service.search(tenant, request)
    return [hit_view(h, request.highlight_terms) for h in page.hits]


def ids(hits: list[dict[str, Any]]) -> list[str]:
    return sorted(h["recordId"] for h in hits)


def compact(lake: Path, rows: list[dict[str, Any]], name: str = "1") -> None:
    """What the lake's compaction does for search: a compacted file, then the hook."""
    paths = lake_support.write(lake, rows, kind="compacted", name=name)
    index.on_compacted(rows[0]["tenant_id"], lake_support.by_day(paths))


CORPUS = [
    row(T, "r1", "I want a refund for my order"),
    row(T, "r2", "Refunds are processed in five days", role="assistant"),
    row(T, "r3", "Un café au lait, s'il vous plaît"),
    row(T, "r4", "我想要退款，谢谢"),  # noqa: RUF001 (a Chinese comma)
    row(T, "r5", "Здравствуйте, где мой заказ?"),
    row(T, "r6", "أريد استرداد الدفع"),
    row(T, "r7", "The refund card was declined", environment="staging"),
]


@pytest.mark.parametrize("compacted", [True, False], ids=["index", "tail"])
@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("refund", ["r1", "r2", "r7"]),
        ("REFUNDS", ["r1", "r2", "r7"]),  # case and stemming
        ("cafe", ["r3"]),  # accents folded
        ("CAFÉ", ["r3"]),
        ("退款", ["r4"]),  # CJK inside a run of characters
        ("заказ", ["r5"]),
        ("استرداد", ["r6"]),
        ("refund -card", ["r1", "r2"]),
        ('"refund card"', ["r7"]),
        ('"card refund"', []),
        ("refund order", ["r1"]),
        ("nothing-like-this", []),
    ],
)
def test_matching(lake: Path, compacted: bool, q: str, expected: list[str]) -> None:
    (compact if compacted else lake_support.write)(lake, CORPUS)
    assert ids(search(q=q)) == expected


def test_filters(lake: Path) -> None:
    rows = [
        row(T, "a", "refund", environment="staging", source="email", role="assistant"),
        row(T, "b", "refund", model="claude", conversation_id="c-2"),
        row(T, "c", "refund", metadata='{"customer": {"tier": "gold"}, "n": 42, "vip": true}'),
        row(T, "d", "refund", ts=datetime(2026, 2, 1, 9, tzinfo=UTC)),
    ]
    compact(lake, rows[:2])
    lake_support.write(lake, rows[2:])
    assert ids(search(q="refund", environment="staging")) == ["a"]
    assert ids(search(q="refund", source="email")) == ["a"]
    assert ids(search(q="refund", role="assistant")) == ["a"]
    assert ids(search(q="refund", model="claude")) == ["b"]
    assert ids(search(q="refund", conversationId="c-2")) == ["b"]
    assert ids(search(q="refund", **{"metadata.customer.tier": "gold"})) == ["c"]
    assert ids(search(q="refund", **{"metadata.n": "42", "metadata.vip": "true"})) == ["c"]
    assert ids(search(q="refund", since="2026-02-01")) == ["d"]
    assert ids(search(q="refund", until="2026-01-31")) == ["a", "b", "c"]
    assert ids(search(q="refund", since="2026-02-01T09:00:00Z", until="2026-02-01T10:00Z")) == ["d"]


def test_tenants_never_see_each_other(lake: Path) -> None:
    compact(lake, [row(T, "mine", "refund")])
    lake_support.write(lake, [row("tenant/b", "theirs", "refund")])
    assert ids(search(q="refund")) == ["mine"]
    assert ids(search("tenant/b", q="refund")) == ["theirs"]
    assert search("tenant-c", q="refund") == []


def test_newest_version_wins_and_tombstones_hide(lake: Path) -> None:
    compact(lake, [row(T, "r1", "refund please"), row(T, "r2", "refund now")])
    lake_support.write(
        lake,
        [
            row(T, "r1", "changed my mind", version=2),
            row(T, "r2", "refund now", version=2, deleted=True),
            row(T, "r1", "refund please", version=1),  # a stale batch file left behind
        ],
    )
    assert search(q="refund") == []
    assert ids(search(q="mind")) == ["r1"]


def test_a_redelivered_batch_yields_one_hit(lake: Path) -> None:
    rows = [row(T, "r1", "refund please")]
    lake_support.write(lake, rows)
    lake_support.write(lake, rows)
    compact(lake, rows)
    assert ids(search(q="refund")) == ["r1"]


def test_one_record_id_under_two_conversations_is_two_records(lake: Path) -> None:
    """A lake row's identity is (tenant, conversation, record id), as in the lake."""
    compact(lake, [row(T, "r1", "refund one", conversation_id="c-1")])
    lake_support.write(lake, [row(T, "r1", "refund two", conversation_id="c-2")])
    hits = search(q="refund")
    assert sorted((h["conversationId"], h["recordId"]) for h in hits) == [
        ("c-1", "r1"),
        ("c-2", "r1"),
    ]
    # A newer version in one conversation shadows only that conversation's record.
    lake_support.write(lake, [row(T, "r1", "changed", conversation_id="c-1", version=2)])
    assert [h["conversationId"] for h in search(q="refund")] == ["c-2"]
    lake_support.write(lake, [row(T, "r1", "refund two", conversation_id="c-2", deleted=True)])
    assert [h["conversationId"] for h in search(q="changed")] == ["c-1"]
    assert search(q="refund") == []  # at equal versions the tombstone wins, as in the lake


def test_a_compacted_file_not_indexed_yet_is_read_as_tail(lake: Path) -> None:
    compact(lake, [row(T, "r1", "refund")])
    lake_support.write(lake, [row(T, "r2", "refund")], kind="compacted", name="2")
    assert ids(search(q="refund")) == ["r1", "r2"]


def test_a_day_whose_index_build_failed_is_built_at_the_next_run_without_new_data(
    lake: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.lake.compaction import Compactor
    from shared.lake.store import LakeStore

    lake_support.write(lake, CORPUS)  # stream batch files
    compactor = Compactor(LakeStore(str(lake)), on_compacted=index.on_compacted)

    def broken(path: Path, day: str) -> Iterator[str]:
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(search_store, "documents", broken)
        report = compactor.run()
    assert report.partitions == 1
    assert [f.split(":")[0] for f in report.failed] == [f"on_compacted {T}"]
    before = index.open_index(search_store.lake_store(), T)
    assert before is None or before.manifest == {}  # no day claimed as indexed
    assert ids(search(q="refund")) == ["r1", "r2", "r7"]  # the compacted file, read as tail

    report = compactor.run()  # no new batch file: nothing to compact, the day still built
    assert (report.partitions, report.failed) == (0, [])
    opened = index.open_index(search_store.lake_store(), T)
    assert opened is not None
    (compacted,) = LakeStore(str(lake)).files(T)
    assert opened.manifest == {compacted.partition.date: compacted.name}
    assert ids(search(q="refund")) == ["r1", "r2", "r7"]
    store = LakeStore(str(lake))
    assert index.on_compacted(T, {compacted.partition.date: store.uri_of(compacted)}) == 0


def test_paging_walks_every_hit_once(lake: Path) -> None:
    rows = [
        row(T, f"r{i:02}", "refund " * (1 + i % 5), ts=datetime(2026, 1, 1 + i % 9, tzinfo=UTC))
        for i in range(45)
    ]
    compact(lake, rows[:30])
    lake_support.write(lake, rows[30:])
    for sort in ("relevance", "recent"):
        seen: list[str] = []
        cursor = None
        while True:
            params = {"q": "refund", "limit": "7", "sort": sort}
            if cursor:
                params["cursor"] = cursor
            request = parse_request(params.items())
            page = service.search(T, request)
            seen += [h.record_id for h in page.hits]
            cursor = service.next_cursor(T, request, page)
            if cursor is None:
                break
        assert sorted(seen) == sorted(r["record_id"] for r in rows)
        assert len(seen) == len(set(seen))
    recent = search(q="refund", sort="recent", limit="100")
    assert [h["timestamp"] for h in recent] == sorted(
        (h["timestamp"] for h in recent), reverse=True
    )
    assert all(h["score"] is None for h in recent)


def test_a_cursor_is_bound_to_its_tenant_and_query(lake: Path) -> None:
    lake_support.write(lake, [row(T, f"r{i}", "refund") for i in range(3)])
    lake_support.write(lake, [row("other", f"o{i}", "refund") for i in range(3)])
    request = parse_request([("q", "refund"), ("limit", "1")])
    cursor = service.next_cursor(T, request, service.search(T, request))
    assert cursor is not None
    for tenant, q in (("other", "refund"), (T, "refunds")):
        moved = parse_request([("q", q), ("limit", "1"), ("cursor", cursor)])
        with pytest.raises(BadRequest, match="cursor"):
            service.search(tenant, moved)


def test_a_hit_shows_the_matching_passage(lake: Path) -> None:
    text = "x " * 400 + "my Refund arrived " + "y " * 400
    lake_support.write(lake, [row(T, "r1", text, role=None, model=None)])
    [hit] = search(q="refunds")
    assert len(hit["snippet"]) <= SNIPPET_CHARS
    [[start, end]] = hit["highlights"]
    assert hit["snippet"][start:end] == "Refund"
    assert hit["role"] is None
    assert hit["model"] is None
    assert hit["timestamp"] == "2026-01-15T12:00:00.000Z"
    assert isinstance(hit["score"], float)


def test_snippet_offsets_cover_cjk_and_accents() -> None:
    text, marks = snippet("我想要退款 au café", frozenset({"退", "款", "cafe"}))
    assert [text[a:b] for a, b in marks] == ["退", "款", "café"]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({}, "'q' is required"),
        ({"q": ""}, "empty"),
        ({"q": "x" * 501}, "at most 500"),
        ({"q": '"refund'}, "unbalanced quote"),
        ({"q": "-refund"}, "only exclusions"),
        ({"q": "!!!"}, "no searchable words"),
        ({"q": "a", "colour": "red"}, "'colour' is not a parameter of search"),
        ({"q": "a", "limit": "0"}, "'limit'"),
        ({"q": "a", "limit": "101"}, "'limit'"),
        ({"q": "a", "sort": "oldest"}, "'sort'"),
        ({"q": "a", "since": "yesterday"}, "'since'"),
        ({"q": "a", "until": "2026-01-01T00:00:00+02:00"}, "UTC time"),
        ({"q": "a", "since": "2026-02-01", "until": "2026-01-01"}, "before"),
        ({"q": "a", "metadata.": "x"}, "metadata.<key>"),
        ({"q": "a", "metadata.a..b": "x"}, "metadata.<key>"),
        ({"q": "a", "environment": ""}, "'environment'"),
    ],
)
def test_a_bad_query_names_the_problem(params: dict[str, str], problem: str) -> None:
    with pytest.raises(BadRequest, match=problem.replace("(", r"\(")):
        parse_request(params.items())


def test_a_repeated_parameter_is_refused() -> None:
    with pytest.raises(BadRequest, match="more than once"):
        parse_request([("q", "a"), ("q", "b")])
