"""What search reads and writes beside the lake: the lake's records files (listed and read
through the lake's own store, shared.lake.store) and the tenant's index folder
{LAKE_URI}/index/tenant={tenant}/ (tantivy's files and `partitions.json`).

On S3 both are copied to local disk (PARLEY_SEARCH_CACHE_DIR): a records file once (its name
is unique and its content never changes), an index file while its ETag holds (`meta.json` and
`partitions.json` are rewritten in place).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from shared.lake.models import tenant_folder
from shared.lake.store import LakeStore, make_lake_store
from shared.settings import get_settings

_stores: dict[tuple[str, str | None], LakeStore] = {}


def lake_store() -> LakeStore:
    """The lake's store for the current settings (one per lake, so its S3 client is reused)."""
    settings = get_settings()
    key = (settings.lake_uri, settings.s3_endpoint)
    if key not in _stores:
        _stores[key] = make_lake_store(settings)
    return _stores[key]


def cache_dir() -> Path:
    return Path(get_settings().search_cache_dir)


def index_folder(tenant: str) -> str:
    return f"index/{tenant_folder(tenant)}"


@dataclass(frozen=True)
class IndexFile:
    name: str
    etag: str


class IndexFolder:
    """A tenant's index folder: in place for a local lake; on S3 the objects under its prefix,
    listed with their ETags, copied, uploaded and deleted one by one."""

    def __init__(self, lake: LakeStore, tenant: str) -> None:
        self.lake = lake
        self.folder = index_folder(tenant)

    @property
    def on_s3(self) -> bool:
        return self.lake.is_s3

    def local(self, purpose: str) -> Path:
        """Where tantivy opens the index: the folder itself locally; on S3 a local copy, one for
        building and one for reading (`purpose`)."""
        if self.on_s3:
            return cache_dir() / purpose / self.folder
        return self.lake.base / self.folder

    def files(self) -> list[IndexFile]:
        prefix = self.lake.key(self.folder + "/")
        paginator = self.lake.s3.get_paginator("list_objects_v2")
        return [
            IndexFile(item["Key"].removeprefix(prefix), item["ETag"].strip('"'))
            for page in paginator.paginate(Bucket=self.lake.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def copy(self, file: IndexFile, path: Path) -> None:
        """Downloads `file` to `path` unless the copy there already has its ETag."""
        tag = path.with_name(f".{path.name}.etag")
        if path.exists() and tag.exists() and tag.read_text() == file.etag:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        self.lake.s3.download_file(self.lake.bucket, self._key(file.name), str(partial))
        os.replace(partial, path)
        tag.write_text(file.etag)

    def upload(self, path: Path, name: str) -> None:
        self.lake.s3.upload_file(str(path), self.lake.bucket, self._key(name))

    def delete(self, names: list[str]) -> None:
        for start in range(0, len(names), 1000):
            chunk = names[start : start + 1000]
            self.lake.s3.delete_objects(
                Bucket=self.lake.bucket,
                Delete={"Objects": [{"Key": self._key(n)} for n in chunk], "Quiet": True},
            )

    def read(self, name: str) -> bytes | None:
        """One file's content (None when absent), without copying the folder."""
        if not self.on_s3:
            try:
                return (self.local("build") / name).read_bytes()
            except OSError:
                return None
        try:
            answer = self.lake.s3.get_object(Bucket=self.lake.bucket, Key=self._key(name))
        except self.lake.s3.exceptions.NoSuchKey:
            return None
        body: bytes = answer["Body"].read()
        return body

    def _key(self, name: str) -> str:
        return self.lake.key(f"{self.folder}/{name}")


def connect() -> duckdb.DuckDBPyConnection:
    """DuckDB with nothing fetched or loaded behind our back (Parquet is built in)."""
    db = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    db.execute("SET enable_progress_bar = false")  # a server's log is no terminal
    return db


# The index document of a lake row as JSON text, built by DuckDB so no Python runs per field:
# absent (NULL) fields are left out (tantivy refuses a null), and metadata that is not a JSON
# object indexes as none. `$day` is the row's partition.
_DOCUMENT = """'{"text":' || to_json(coalesce(text, ''))
    || ',"record_id":' || to_json(record_id)
    || ',"conversation_id":' || to_json(conversation_id)
    || ',"source":' || to_json(coalesce(source, ''))
    || coalesce(',"role":' || to_json(role), '')
    || coalesce(',"environment":' || to_json(environment), '')
    || coalesce(',"model":' || to_json(model), '')
    || ',"date":' || to_json($day::VARCHAR)
    || ',"ts":' || epoch_us(ts)
    || ',"version":' || version
    || coalesce(',"metadata":' || CASE WHEN json_type(TRY_CAST(metadata AS JSON)) = 'OBJECT'
        THEN metadata END, '')
    || '}'"""


def documents(path: Path, day: str) -> Iterator[str]:
    """The index documents of a compacted file: its live rows (compaction left one row per
    record, and the tombstones it keeps are not indexed)."""
    db = connect()
    try:
        cursor = db.execute(
            f"SELECT {_DOCUMENT} FROM read_parquet($path) WHERE NOT deleted",
            {"path": str(path), "day": day},
        )
        while chunk := cursor.fetchmany(20_000):
            for (doc,) in chunk:
                yield doc
    finally:
        db.close()


def latest_rows(paths: list[Path]) -> Iterator[dict[str, Any]]:
    """The newest version of each record in `paths` (tombstones included: a caller drops
    them; at equal versions the tombstone wins, as in the lake) as `identity` (conversation
    id, record id: the lake's key, so one ingest id under two conversations is two records),
    `version`, `deleted` and `doc` (the index document). In identity order: the tail's
    in-memory index then numbers its documents the same way on every query, so hits with equal
    scores keep one order from page to page."""
    if not paths:
        return
    db = connect()
    try:
        cursor = db.execute(
            f"""SELECT conversation_id, record_id, version, deleted, {_DOCUMENT} AS doc
            FROM read_parquet($paths, union_by_name = true)
            QUALIFY row_number() OVER (
                PARTITION BY conversation_id, record_id ORDER BY version DESC, deleted DESC
            ) = 1
            ORDER BY conversation_id, record_id""",
            {"paths": [str(p) for p in paths], "day": ""},
        )
        while chunk := cursor.fetchmany(20_000):
            for conversation_id, record_id, version, deleted, doc in chunk:
                yield {
                    "identity": (conversation_id, record_id),
                    "version": version,
                    "deleted": deleted,
                    "doc": doc,
                }
    finally:
        db.close()
