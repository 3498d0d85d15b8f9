"""Parquet files of the lake, in a folder (make dev) or under s3://bucket/prefix (AWS).

Layout (Hive style, docs/lake.md):
    {LAKE_URI}/records/tenant={tenant}/date={YYYY-MM-DD}/batch-{id}.parquet      stream batches
    {LAKE_URI}/records/tenant={tenant}/date={YYYY-MM-DD}/compacted-{gen}.parquet after compaction

A file appears whole or not at all: locally it is written under a hidden name and renamed; on
S3 a PUT is atomic. DuckDB writes every file (no pyarrow): rows are staged as JSON lines and
copied to Parquet with the lake's schema (shared/lake/models.py).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import StorageUnavailable
from shared.lake.models import COLUMNS, LakeRow, partition_path
from shared.settings import Settings

if TYPE_CHECKING:  # DuckDB ships in LakeLayer: imported only where a function writes or reads
    import duckdb

RECORDS = "records"
BATCH_PREFIX = "batch-"
COMPACTED_PREFIX = "compacted-"
_JSON_COLUMNS = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS) + "}"


@dataclass(frozen=True)
class Partition:
    tenant_id: str
    date: str  # YYYY-MM-DD

    @property
    def path(self) -> str:
        return partition_path(self.tenant_id, self.date)


@dataclass(frozen=True)
class LakeFile:
    partition: Partition
    name: str  # batch-….parquet or compacted-….parquet
    size: int = 0

    @property
    def is_batch(self) -> bool:
        return self.name.startswith(BATCH_PREFIX)


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never downloads anything (Parquet and JSON are built in;
    httpfs comes from its PyPI package: `load_httpfs`). `threads`: its worker threads (one
    per core, up to 4, by default; 1 where several run side by side)."""
    import duckdb

    return duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": threads or max(1, min(4, os.cpu_count() or 1)),
        }
    )


def load_httpfs(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Let `con` read s3:// URIs: httpfs LOADed from the installed `duckdb-ext-httpfs` package,
    with the credentials botocore finds (the Lambda role's, or the local ones)."""
    import importlib.util

    from shared.dynamo import default_session

    spec = importlib.util.find_spec("duckdb_ext")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise RuntimeError("duckdb-ext-httpfs is not installed (LakeLayer ships it)")
    con.execute(f"SET extension_directory = '{_sql_path(Path(locations[0]) / 'extensions')}'")
    con.execute("LOAD httpfs")
    credentials = default_session().get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    options = {"TYPE": "s3", "REGION": settings.aws_region}
    if frozen is not None:
        options |= {"KEY_ID": frozen.access_key or "", "SECRET": frozen.secret_key or ""}
        if frozen.token:
            options["SESSION_TOKEN"] = frozen.token
    if settings.s3_endpoint:  # a local S3 (moto): host:port, path-style
        scheme, _, host = settings.s3_endpoint.partition("://")
        options |= {"ENDPOINT": host, "URL_STYLE": "path", "USE_SSL": str(scheme == "https")}
    listed = ", ".join(
        f"{key} {value}" if key in ("TYPE", "USE_SSL") else f"{key} '{_sql_text(value)}'"
        for key, value in options.items()
    )
    con.execute(f"CREATE OR REPLACE SECRET lake ({listed})")


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def copy_rows_to_parquet(rows: Iterable[LakeRow], target: Path) -> int:
    """Write rows as one Parquet file with the lake's schema; the number written."""
    import duckdb

    count = 0
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as staged:
        for row in rows:
            staged.write(orjson.dumps(row.as_json()))
            staged.write(b"\n")
            count += 1
    try:
        con = _writer_connection()
        try:
            con.execute(
                f"COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                f"columns={_JSON_COLUMNS})) TO '{_sql_path(target)}' "
                "(FORMAT parquet, COMPRESSION zstd)",
                [staged.name],
            )
        except duckdb.Error as exc:  # e.g. the disk is full: the batch is retried
            _thread.connection = None  # a fresh one next time
            raise StorageUnavailable(f"lake: writing {target.name}: {exc}") from exc
    finally:
        os.unlink(staged.name)
    return count


_thread = threading.local()


def _writer_connection() -> duckdb.DuckDBPyConnection:
    """One DuckDB per thread for writing batch files (opening one costs tens of ms; a
    connection is not shared between threads)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_thread, "connection", None)
    if con is None:
        con = _thread.connection = connect()
    return con


def _sql_path(path: Path | str) -> str:
    return str(path).replace("'", "''")


def new_file_name(prefix: str) -> str:
    # Time first: names sort by when they were written (a reader may list the newest last).
    return f"{prefix}{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.parquet"


class LakeStore:
    """Where the lake's files live; every method maps storage faults to StorageUnavailable."""

    def __init__(self, uri: str, s3: Any = None) -> None:
        self.uri = uri.rstrip("/")
        self._s3 = s3
        if self.is_s3:
            bucket, _, prefix = self.uri.removeprefix("s3://").partition("/")
            self.bucket = bucket
            self._base = f"{prefix}/" if prefix else ""
            self._prefix = f"{self._base}{RECORDS}/"
        else:
            self.base = Path(self.uri)
            self.root = self.base / RECORDS

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    @property
    def s3(self) -> Any:
        """The S3 client (a lake on S3 only)."""
        return self._s3

    def key(self, relative: str) -> str:
        """The S3 key of a path relative to the lake's root (e.g. search's `index/…`)."""
        return f"{self._base}{relative}"

    # --- writing -------------------------------------------------------------------------------

    def write_rows(self, rows: list[LakeRow]) -> list[str]:
        """One batch file per partition the rows fall in; the URIs written."""
        grouped: dict[Partition, list[LakeRow]] = {}
        for row in rows:
            grouped.setdefault(Partition(row.tenant_id, row.date), []).append(row)
        return [self.write_file(p, new_file_name(BATCH_PREFIX), r) for p, r in grouped.items()]

    def write_file(self, partition: Partition, name: str, rows: Iterable[LakeRow]) -> str:
        with tempfile.TemporaryDirectory(prefix="lake-") as work:
            local = Path(work) / name
            copy_rows_to_parquet(rows, local)
            return self.put_file(partition, name, local)

    def put_file(self, partition: Partition, name: str, local: Path) -> str:
        """Publish a finished Parquet file into a partition (atomically for readers)."""
        if self.is_s3:
            key = f"{self._prefix}{partition.path}/{name}"
            try:
                self._s3.upload_file(str(local), self.bucket, key)
            except (BotoCoreError, ClientError) as exc:
                raise StorageUnavailable(f"lake: writing s3://{self.bucket}/{key}: {exc}") from exc
            return f"s3://{self.bucket}/{key}"
        folder = self.root / partition.path
        try:
            folder.mkdir(parents=True, exist_ok=True)
            hidden = folder / f".{name}.tmp"
            with open(local, "rb") as source, open(hidden, "wb") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
            os.replace(hidden, folder / name)
        except OSError as exc:
            raise StorageUnavailable(f"lake: writing {folder / name}: {exc}") from exc
        return str(folder / name)

    # --- listing and reading -------------------------------------------------------------------

    def files(self, tenant_id: str | None = None) -> list[LakeFile]:
        """Every Parquet file of the lake, or of one tenant."""
        from shared.lake.models import tenant_folder

        under = f"{tenant_folder(tenant_id)}/" if tenant_id is not None else ""
        try:
            return sorted(self._list(under), key=lambda f: (f.partition.path, f.name))
        except FileNotFoundError as exc:  # compacted away while listed
            raise LakeMoved(f"lake: listing {self.uri}: {exc}") from exc
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable(f"lake: listing {self.uri}: {exc}") from exc

    def _list(self, under: str) -> Iterator[LakeFile]:
        if self.is_s3:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._prefix + under
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    found = _parse(obj["Key"][len(self._prefix) :], obj.get("Size", 0))
                    if found is not None:
                        yield found
            return
        base = self.root / under if under else self.root
        if not base.is_dir():
            return
        for path in base.rglob("*.parquet"):
            found = _parse(path.relative_to(self.root).as_posix(), path.stat().st_size)
            if found is not None:
                yield found

    def uri_of(self, file: LakeFile) -> str:
        if self.is_s3:
            return f"s3://{self.bucket}/{self._prefix}{file.partition.path}/{file.name}"
        return str(self.root / file.partition.path / file.name)

    def file_at(self, uri: str) -> LakeFile:
        """The lake file at a URI that `uri_of` gave (the one `on_compacted` receives)."""
        if self.is_s3:
            relative = uri.removeprefix(f"s3://{self.bucket}/{self._prefix}")
        else:
            relative = Path(uri).resolve().relative_to(self.root.resolve()).as_posix()
        found = _parse(relative, 0)
        if found is None:
            raise ValueError(f"not a file of the lake at {self.uri}: {uri}")
        return found

    def local_copy(self, file: LakeFile, folder: Path) -> Path:
        """A path DuckDB can read without httpfs: the file itself locally, a download on S3."""
        if not self.is_s3:
            return self.root / file.partition.path / file.name
        target = folder / f"{len(list(folder.iterdir()))}-{file.name}"
        key = f"{self._prefix}{file.partition.path}/{file.name}"
        try:
            self._s3.download_file(self.bucket, key, str(target))
        except (BotoCoreError, ClientError) as exc:
            raise _read_fault(f"lake: reading s3://{self.bucket}/{key}", exc) from exc
        return target

    def cached_copy(self, file: LakeFile, cache: Path) -> Path:
        """A local path holding `file`: the file itself locally; on S3 a copy under `cache`,
        downloaded once (a lake file's name is unique and its content never changes)."""
        if not self.is_s3:
            return self.root / file.partition.path / file.name
        target = cache / RECORDS / file.partition.path / file.name
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{file.name}.{uuid.uuid4().hex[:8]}.partial")
        key = f"{self._prefix}{file.partition.path}/{file.name}"
        try:
            self._s3.download_file(self.bucket, key, str(partial))
        except (BotoCoreError, ClientError) as exc:
            partial.unlink(missing_ok=True)
            raise _read_fault(f"lake: reading s3://{self.bucket}/{key}", exc) from exc
        os.replace(partial, target)
        return target

    def download_url(self, file: LakeFile, expires_seconds: int) -> str:
        """Where a client can fetch the file: a presigned S3 GET, or the local file's URI."""
        if not self.is_s3:
            return (self.root / file.partition.path / file.name).resolve().as_uri()
        key = f"{self._prefix}{file.partition.path}/{file.name}"
        url: str = self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return url

    def delete(self, files: list[LakeFile]) -> None:
        try:
            if self.is_s3:
                keys = [f"{self._prefix}{f.partition.path}/{f.name}" for f in files]
                for start in range(0, len(keys), 1000):
                    chunk = keys[start : start + 1000]
                    answer = self._s3.delete_objects(
                        Bucket=self.bucket,
                        Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
                    )
                    if answer.get("Errors"):
                        raise StorageUnavailable(f"lake: deleting: {answer['Errors'][0]}")
                return
            for file in files:
                (self.root / file.partition.path / file.name).unlink(missing_ok=True)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable(f"lake: deleting from {self.uri}: {exc}") from exc


def _parse(relative: str, size: int) -> LakeFile | None:
    """`tenant=…/date=…/name.parquet` → its file; None for anything else."""
    parts = relative.split("/")
    if len(parts) != 3 or not parts[0].startswith("tenant=") or not parts[1].startswith("date="):
        return None
    name = parts[2]
    if not name.endswith(".parquet") or not name.startswith((BATCH_PREFIX, COMPACTED_PREFIX)):
        return None
    partition = Partition(unquote(parts[0].removeprefix("tenant=")), parts[1].removeprefix("date="))
    return LakeFile(partition, name, size)


def make_lake_store(settings: Settings) -> LakeStore:
    if not settings.lake_uri.startswith("s3://"):
        return LakeStore(settings.lake_uri)
    import boto3  # its S3 client has the managed (multipart) upload_file / download_file

    from shared.dynamo import default_session

    client = boto3.session.Session(botocore_session=default_session()).client(
        "s3",
        region_name=settings.aws_region,
        endpoint_url=settings.s3_endpoint,
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            s3={"addressing_style": "path"} if settings.s3_endpoint else None,
        ),
    )
    return LakeStore(settings.lake_uri, client)


class LakeMoved(StorageUnavailable):
    """A listed file was gone when read: compaction replaced it (its rows are in the compacted
    file a new listing finds)."""


READ_ATTEMPTS = 3


def read_listed[T](read: Callable[[], T]) -> T:
    """Runs `read` (list the lake's files, then read them) again when compaction removed a
    listed file in between; a file still missing after READ_ATTEMPTS tries is a retryable 503.
    Every reader of listed lake files goes through here."""
    import duckdb

    for _ in range(READ_ATTEMPTS - 1):
        try:
            return read()
        except (LakeMoved, duckdb.IOException):
            continue
    try:
        return read()
    except (LakeMoved, duckdb.IOException) as exc:
        raise StorageUnavailable(f"lake: files kept moving while read: {exc}") from exc


def _read_fault(what: str, exc: Exception) -> StorageUnavailable:
    """A key that is gone was compacted away (read again); anything else is storage's fault."""
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    if code in ("404", "NoSuchKey"):
        return LakeMoved(f"{what}: {exc}")
    return StorageUnavailable(f"{what}: {exc}")
