"""The lake as search reads it: its files (a folder, or S3 with each file copied once to local
disk and kept while its ETag holds) and the rows of a set of Parquet files, read by DuckDB.

Layout (the lake contract): {LAKE_URI}/records/tenant={tenant}/date={YYYY-MM-DD}/ holds
`batch-*.parquet` files (the stream's tail) and, after compaction, one `compacted-*.parquet`.
The search index of a tenant lives beside it in {LAKE_URI}/index/tenant={tenant}/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from shared.lake.models import tenant_folder
from shared.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class LakeFile:
    key: str  # relative to the lake's root, with / separators
    etag: str  # S3's ETag; locally, modification time and size

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


class Lake:
    """The lake's root: a local folder, or s3://bucket/prefix read through a local cache."""

    def __init__(self, uri: str, cache_dir: str) -> None:
        self.uri = uri
        self.cache = Path(cache_dir)
        self._s3: S3Client | None = None
        if uri.startswith("s3://"):
            bucket, _, prefix = uri.removeprefix("s3://").partition("/")
            self.bucket, self.prefix = bucket, prefix.strip("/")
            self.root = self.cache / "lake"
        else:
            self.bucket, self.prefix = "", ""
            self.root = Path(uri)

    @property
    def on_s3(self) -> bool:
        return bool(self.bucket)

    def s3(self) -> S3Client:
        if self._s3 is None:
            import boto3

            settings = get_settings()
            self._s3 = boto3.client(
                "s3", region_name=settings.aws_region, endpoint_url=settings.s3_endpoint
            )
        return self._s3

    def _s3_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def files(self, folder: str) -> list[LakeFile]:
        """Every file under `folder` (relative), recursively."""
        if not self.on_s3:
            base = self.root / folder
            if not base.is_dir():
                return []
            found = []
            for path in base.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    stat = path.stat()
                    key = path.relative_to(self.root).as_posix()
                    found.append(LakeFile(key, f"{stat.st_mtime_ns}-{stat.st_size}"))
            return found
        files = []
        start = self._s3_key(folder.rstrip("/") + "/")
        paginator = self.s3().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                key = item["Key"].removeprefix(self.prefix + "/" if self.prefix else "")
                files.append(LakeFile(key, item["ETag"].strip('"')))
        return files

    def file_at(self, uri: str) -> LakeFile:
        """The lake file at a full URI (a path, or s3://…), as listed."""
        if self.on_s3:
            key = uri.removeprefix(f"s3://{self.bucket}/").removeprefix(
                f"{self.prefix}/" if self.prefix else ""
            )
            head = self.s3().head_object(Bucket=self.bucket, Key=self._s3_key(key))
            return LakeFile(key, head["ETag"].strip('"'))
        path = Path(uri).resolve()
        stat = path.stat()
        key = path.relative_to(self.root.resolve()).as_posix()
        return LakeFile(key, f"{stat.st_mtime_ns}-{stat.st_size}")

    def local(self, file: LakeFile) -> Path:
        """A local path holding `file`'s current content (S3: downloaded once per ETag)."""
        path = self.root / file.key
        if self.on_s3:
            self.copy(file, path)
        return path

    def copy(self, file: LakeFile, path: Path) -> None:
        """Downloads `file` to `path` unless the copy there already has its ETag."""
        tag = path.with_name(f".{path.name}.etag")
        if path.exists() and tag.exists() and tag.read_text() == file.etag:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        self.s3().download_file(self.bucket, self._s3_key(file.key), str(partial))
        os.replace(partial, path)
        tag.write_text(file.etag)

    def upload(self, path: Path, key: str) -> None:
        self.s3().upload_file(str(path), self.bucket, self._s3_key(key))

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.s3().delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self._s3_key(k)} for k in chunk], "Quiet": True},
            )


def lake() -> Lake:
    settings = get_settings()
    return Lake(settings.lake_uri, settings.search_cache_dir)


def records_folder(tenant: str) -> str:
    return f"records/{tenant_folder(tenant)}"


def index_folder(tenant: str) -> str:
    return f"index/{tenant_folder(tenant)}"


def partition_date(file: LakeFile) -> str | None:
    """The `date=` of a records file's partition."""
    for part in file.key.split("/"):
        if part.startswith("date="):
            return part.removeprefix("date=")
    return None


def within(day: str | None, first: date | None, last: date | None) -> bool:
    """Whether a partition's day can hold rows between first and last (inclusive)."""
    if day is None:
        return False
    try:
        value = date.fromisoformat(day)
    except ValueError:
        return False
    return (first is None or value >= first) and (last is None or value <= last)


def connect() -> duckdb.DuckDBPyConnection:
    """DuckDB with nothing fetched or loaded behind our back (Parquet is built in)."""
    db = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    db.execute("SET enable_progress_bar = false")  # a server's log is no terminal
    return db


def latest_rows(paths: list[Path], day: str = "") -> Iterator[dict[str, Any]]:
    """The newest version of each record in `paths` (tombstones included: a caller drops
    them; at equal versions the tombstone wins, as in the lake) as `identity` (conversation
    id, record id: the lake's key, so one ingest id under two conversations is two records),
    `version`, `deleted` and `doc`: the index document as JSON, built by
    DuckDB so no Python runs per field (`day` is its partition; absent fields are left out, and
    metadata that is not a JSON object indexes as none). In identity order: the tail's
    in-memory index then numbers its documents the same way on every query, so hits with equal
    scores keep one order from page to page."""
    if not paths:
        return
    db = connect()
    try:
        cursor = db.execute(
            """SELECT conversation_id, record_id, version, deleted, json_merge_patch('{}', to_json({
                text: coalesce(text, ''), record_id: record_id,
                conversation_id: conversation_id, source: source, role: role,
                environment: environment, model: model, date: ?, ts: epoch_us(ts),
                version: version,
                metadata: CASE WHEN json_type(TRY_CAST(metadata AS JSON)) = 'OBJECT'
                    THEN TRY_CAST(metadata AS JSON) END
            }))::VARCHAR AS doc
            FROM read_parquet(?, union_by_name = true)
            QUALIFY row_number() OVER (
                PARTITION BY conversation_id, record_id ORDER BY version DESC, deleted DESC
            ) = 1
            ORDER BY conversation_id, record_id""",
            [day, [str(p) for p in paths]],
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
