"""The search index: one tantivy index per tenant over its compacted lake partitions, kept in
{LAKE_URI}/index/tenant={tenant}/ with `partitions.json` (which compacted file of each day it
holds). After each compaction run the lake calls `on_compacted` with the tenant's compacted
files; the days whose file the index does not hold yet are (re)built in one writer session and
one commit. The same query runs on it and on an in-memory index of the tail
(shared.search.service).

On S3 a builder works on a local copy and uploads the new segment files first, then tantivy's
`meta.json`, then `partitions.json`, then deletes the segments no longer referenced; a reader
copies the folder to /tmp by ETag. A reader that holds an older copy stays correct: a partition
its `partitions.json` does not name is read as tail.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import tantivy
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import StorageUnavailable
from shared.lake.models import tenant_folder
from shared.lake.store import LakeStore
from shared.search import analysis, store
from shared.search.models import Hit, SearchRequest
from shared.search.store import IndexFolder
from shared.settings import get_settings

MANIFEST = "partitions.json"
_INTEGER = re.compile(r"-?(0|[1-9][0-9]{0,18})")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TEXT_FIELDS = ("record_id", "conversation_id", "source", "role", "environment", "model")
# tantivy's indexing memory, split between its threads; a thread writes a segment when its
# share is full. 512 MB keeps a bulk build of 1,000,000 messages in a few segments (fewer
# merges) and fits the compaction function's 2 GB.
_WRITER_HEAP_BYTES = 512_000_000
_WRITER_THREADS = 2
_TAIL_WRITER_HEAP_BYTES = 15_000_000  # tantivy's minimum per thread


@lru_cache(maxsize=1)
def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(
        "text", stored=True, tokenizer_name=analysis.ANALYZER_NAME, index_option="position"
    )
    for name in _TEXT_FIELDS:
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("date", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("ts", stored=True, indexed=True, fast=True)
    builder.add_integer_field("version", stored=True)
    builder.add_json_field("metadata", stored=False, tokenizer_name="raw", index_option="basic")
    return builder.build()


def _prepared(index: tantivy.Index) -> tantivy.Index:
    index.register_tokenizer(analysis.ANALYZER_NAME, analysis.analyzer())
    return index


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One builder per tenant index on this machine (tantivy's own lock fails, not waits)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.build-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def on_compacted(tenant: str, compacted: dict[str, str]) -> int:
    """The lake's compaction hook: `compacted` is every compacted file of the tenant (day →
    URI). Builds, in one writer session and one commit, the days whose file the index does not
    hold: just compacted, or a build that failed before. The documents added."""
    lake = store.lake_store()
    folder = IndexFolder(lake, tenant)
    if not _missing(_parse_manifest(folder.read(MANIFEST)), compacted):
        return 0  # a run that compacted nothing of this tenant: one read
    with _locked(folder.local("build")):
        return _build(lake, folder, compacted)


def _missing(manifest: dict[str, str], compacted: dict[str, str]) -> dict[str, str]:
    return {d: u for d, u in compacted.items() if manifest.get(d) != u.rsplit("/", 1)[-1]}


def _build(lake: LakeStore, folder: IndexFolder, compacted: dict[str, str]) -> int:
    local = folder.local("build")
    before: dict[str, str] = {}
    if folder.on_s3:
        before = _sync(folder, local)
    manifest = _read_manifest(local)
    todo = _missing(manifest, compacted)
    if not todo:
        return 0
    index = _prepared(
        tantivy.Index.open(str(local))
        if (local / "meta.json").exists()
        else tantivy.Index(schema(), path=str(local))
    )
    writer = index.writer(heap_size=_WRITER_HEAP_BYTES, num_threads=_WRITER_THREADS)
    added = 0
    for day, uri in sorted(todo.items()):
        writer.delete_documents_by_term("date", day)
        for doc in store.documents(_records_path(lake, uri), day):
            writer.add_json(doc)
            added += 1
        manifest[day] = uri.rsplit("/", 1)[-1]
    writer.commit()
    writer.wait_merging_threads()
    _write_atomic(local / MANIFEST, json.dumps(manifest, sort_keys=True))
    if folder.on_s3:
        _publish(folder, local, before)
    return added


def _records_path(lake: LakeStore, uri: str) -> Path:
    """A local path of the records file at `uri` (on S3, downloaded to the cache)."""
    return lake.cached_copy(lake.file_at(uri), store.cache_dir())


def _parse_manifest(content: bytes | None) -> dict[str, str]:
    try:
        value = json.loads(content) if content is not None else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _read_manifest(folder: Path) -> dict[str, str]:
    try:
        return _parse_manifest((folder / MANIFEST).read_bytes())
    except OSError:
        return {}


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def _sync(folder: IndexFolder, local: Path) -> dict[str, str]:
    """Makes `local` a copy of the S3 folder (by ETag); returns name → ETag as listed."""
    listed = {f.name: f for f in folder.files()}
    local.mkdir(parents=True, exist_ok=True)
    # meta.json and the manifest last, so they never name a segment not yet copied.
    order = sorted(listed.values(), key=lambda f: f.name in ("meta.json", MANIFEST))
    for file in order:
        folder.copy(file, local / file.name)
    for path in local.iterdir():
        if path.is_file() and not path.name.startswith(".") and path.name not in listed:
            path.unlink()
    return {name: f.etag for name, f in listed.items()}


def _sync_for_reading(folder: IndexFolder, local: Path) -> None:
    """_sync, once more if a segment vanished between the listing and its download (a builder
    published meanwhile); S3 still failing is a retryable 503."""
    for attempt in range(2):
        try:
            _sync(folder, local)
            return
        except (ClientError, BotoCoreError) as exc:
            if attempt:
                raise StorageUnavailable("The search index could not be read; retry") from exc


def _publish(folder: IndexFolder, local: Path, before: dict[str, str]) -> None:
    """Uploads new files, then meta.json, then the manifest, then deletes what is gone."""
    names = {p.name for p in local.iterdir() if p.is_file() and not p.name.startswith(".")}
    last = ("meta.json", MANIFEST)
    for name in sorted(names - set(before) - set(last)):
        folder.upload(local / name, name)
    for name in last:
        folder.upload(local / name, name)
    gone = sorted(set(before) - names)
    if gone:
        folder.delete(gone)


@dataclass
class OpenIndex:
    index: tantivy.Index
    manifest: dict[str, str]  # day → the compacted file's name it indexed
    checked: float  # monotonic time of the last look for a newer index


_open: dict[str, OpenIndex] = {}
_open_lock = threading.Lock()


def open_index(lake: LakeStore, tenant: str) -> OpenIndex | None:
    """The tenant's index (None before its first compaction), reopened when it changed."""
    folder = IndexFolder(lake, tenant)
    key = f"{lake.uri}|{tenant_folder(tenant)}"
    with _open_lock:
        current = _open.get(key)
        # A local index is looked at on every search (a file read); S3 costs a LIST.
        interval = get_settings().search_index_refresh_seconds if folder.on_s3 else 0.0
        if current is not None and time.monotonic() - current.checked < interval:
            return current
        local = folder.local("read")
        if folder.on_s3:
            _sync_for_reading(folder, local)
        if not (local / "meta.json").exists():
            return None
        manifest = _read_manifest(local)
        if current is not None and current.manifest == manifest and not folder.on_s3:
            current.index.reload()
            current.checked = time.monotonic()
            return current
        opened = OpenIndex(_prepared(tantivy.Index.open(str(local))), manifest, time.monotonic())
        _open[key] = opened
        return opened


def in_memory(rows: list[dict[str, Any]]) -> tantivy.Index:
    """An index of the tail's rows, so the tail is matched and scored by the same query."""
    index = _prepared(tantivy.Index(schema()))
    writer = index.writer(heap_size=_TAIL_WRITER_HEAP_BYTES, num_threads=1)
    for row in rows:
        if not row["deleted"]:
            writer.add_json(row["doc"])
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index


def _clause_query(s: tantivy.Schema, terms: tuple[str, ...]) -> tantivy.Query:
    if len(terms) == 1:
        return tantivy.Query.term_query(s, "text", terms[0])
    return tantivy.Query.phrase_query(s, "text", list(terms))


def _filter(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(query, 0.0)  # narrows, never ranks


Identity = tuple[str, str]  # (conversation id, record id): a lake row's key in its tenant


def build_query(request: SearchRequest, shadowed: list[Identity]) -> tantivy.Query:
    """The request as one tantivy query; `shadowed` records are left out (their newer
    version is in the tail)."""
    s = schema()
    must, must_not = tantivy.Occur.Must, tantivy.Occur.MustNot
    parts: list[tuple[tantivy.Occur, tantivy.Query]] = [
        (must, _clause_query(s, c.terms)) for c in request.required
    ]
    parts += [(must_not, _clause_query(s, c.terms)) for c in request.excluded]
    parts += [(must, _filter(tantivy.Query.term_query(s, f, v))) for f, v in request.exact]
    parts += [(must, _filter(_metadata_query(s, key, value))) for key, value in request.metadata]
    if request.since or request.until:
        lower = _micros(request.since) if request.since else None
        upper = _micros(request.until) if request.until else None
        span = tantivy.Query.range_query(
            s, "ts", tantivy.FieldType.Integer, lower, upper, include_upper=upper is None
        )
        parts.append((must, _filter(span)))
    if shadowed:
        parts.append((must_not, _identities_query(s, shadowed)))
    return tantivy.Query.boolean_query(parts)


def _identities_query(s: tantivy.Schema, identities: list[Identity]) -> tantivy.Query:
    """Matches exactly these (conversation, record) pairs: one clause per conversation, so a
    record id shadowed in one conversation stays found in another."""
    by_conversation: dict[str, list[str]] = {}
    for conversation_id, record_id in identities:
        by_conversation.setdefault(conversation_id, []).append(record_id)
    must, should = tantivy.Occur.Must, tantivy.Occur.Should
    return tantivy.Query.boolean_query(
        [
            (
                should,
                tantivy.Query.boolean_query(
                    [
                        (must, tantivy.Query.term_query(s, "conversation_id", conversation)),
                        (must, tantivy.Query.term_set_query(s, "record_id", records)),
                    ]
                ),
            )
            for conversation, records in by_conversation.items()
        ]
    )


def _metadata_query(s: tantivy.Schema, key: str, value: str) -> tantivy.Query:
    """The value as the client wrote it: text, or the JSON number or boolean it spells."""
    field = f"metadata.{key}"
    typed: list[Any] = [value]
    if value in ("true", "false"):
        typed.append(value == "true")
    elif _INTEGER.fullmatch(value):
        typed.append(int(value))
    elif _NUMBER.fullmatch(value):
        typed.append(float(value))
    should = tantivy.Occur.Should
    return tantivy.Query.boolean_query(
        [(should, tantivy.Query.term_query(s, field, v)) for v in typed]
    )


def _micros(moment: Any) -> int:
    return int(moment.timestamp() * 1_000_000)


def ranked(
    index: tantivy.Index, query: tantivy.Query, request: SearchRequest, count: int
) -> tuple[tantivy.Searcher, list[tuple[float, tantivy.DocAddress]]]:
    """The best `count` matches as (sort key, address): the BM25 score, or under sort=recent
    the timestamp; documents are read only for the page shown (`hit`)."""
    searcher = index.searcher()
    if request.sort == "recent":
        found = searcher.search(query, limit=count, order_by_field="ts")
    else:
        found = searcher.search(query, limit=count)
    return searcher, [(float(key), address) for key, address in found.hits]


def hit(searcher: tantivy.Searcher, address: tantivy.DocAddress, score: float | None) -> Hit:
    doc = searcher.doc(address)
    return Hit(
        conversation_id=_first(doc, "conversation_id") or "",
        record_id=_first(doc, "record_id") or "",
        source=_first(doc, "source") or "",
        role=_first(doc, "role"),
        environment=_first(doc, "environment"),
        model=_first(doc, "model"),
        ts_us=int(doc["ts"][0]),
        text=_first(doc, "text") or "",
        score=score,
        version=int(doc["version"][0]),
    )


def _first(doc: tantivy.Document, name: str) -> Any:
    values = doc.get_all(name)
    return values[0] if values else None


def indexed_versions(index: tantivy.Index, identities: list[Identity]) -> dict[Identity, int]:
    """The version the index holds of each of these records (absent: not indexed)."""
    if not identities:
        return {}
    searcher = index.searcher()
    found = searcher.search(_identities_query(schema(), identities), limit=len(identities))
    versions: dict[Identity, int] = {}
    for _, address in found.hits:
        doc = searcher.doc(address)
        identity = (str(doc["conversation_id"][0]), str(doc["record_id"][0]))
        versions[identity] = int(doc["version"][0])
    return versions
