"""Where clusters live: beside the lake's records, one folder per tenant (docs/clusters.md).

    {LAKE_URI}/clusters/tenant={tenant}/model.json                    the clusters (replaced whole)
    {LAKE_URI}/clusters/tenant={tenant}/members-{time}-{id}.parquet   conversation → cluster

A re-clustering writes one members file holding every member, then deletes the files older
than its start (and than SUPERSEDED_KEPT_SECONDS); the assigner adds small files. Readers
keep, per conversation, the row of the newest file (`assigned_at`), and only rows whose
cluster is in the model. Files appear whole: a local file is renamed into place, an S3 PUT is
atomic.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import StorageUnavailable
from shared.lake.models import tenant_folder
from shared.lake.store import LakeStore, connect

if TYPE_CHECKING:  # numpy ships in ClustersLayer: the API functions read clusters without it
    import numpy as np

CLUSTERS = "clusters"
MODEL = "model.json"
MEMBERS_PREFIX = "members-"
# A superseded members file stays this long: a reader that listed it just before a
# re-clustering still finds it (a request lasts at most 29 s); readers keep the newest row.
SUPERSEDED_KEPT_SECONDS = 300
_MEMBER_COLUMNS = (
    "{'conversation_id': 'VARCHAR', 'environment': 'VARCHAR', 'cluster_id': 'VARCHAR', "
    "'version': 'BIGINT', 'first_ts': 'TIMESTAMP', 'last_ts': 'TIMESTAMP', "
    "'assigned_at': 'BIGINT', 'embedder': 'VARCHAR', 'vector': 'VARCHAR'}"
)


@dataclass(frozen=True)
class Member:
    conversation_id: str
    environment: str  # '' when the conversation has none
    cluster_id: str
    version: int  # the conversation's highest lake row version when it was embedded
    first_ts: str  # ISO, UTC (naive)
    last_ts: str
    embedder: str
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass
class Cluster:
    id: str
    environment: str
    label: str
    terms: list[str]
    centroid: list[float]  # unit length
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "environment": self.environment,
            "label": self.label,
            "terms": self.terms,
            "centroid": [round(float(x), 6) for x in self.centroid],
            "createdAt": self.created_at,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Cluster:
        return cls(
            id=raw["id"],
            environment=raw["environment"],
            label=raw["label"],
            terms=list(raw["terms"]),
            centroid=[float(x) for x in raw["centroid"]],
            created_at=raw["createdAt"],
        )


@dataclass
class Model:
    embedder: str
    clustered_at: str
    clusters: list[Cluster]

    def in_environment(self, environment: str) -> list[Cluster]:
        return [c for c in self.clusters if c.environment == environment]

    def as_json(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "clusteredAt": self.clustered_at,
            "clusters": [c.as_json() for c in self.clusters],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Model:
        return cls(
            embedder=raw["embedder"],
            clustered_at=raw["clusteredAt"],
            clusters=[Cluster.from_json(c) for c in raw["clusters"]],
        )


def _sql_path(path: str) -> str:
    return path.replace("'", "''")


def member_files_sql(uris: Sequence[str], columns: str) -> str:
    """One row per conversation (the newest file's), `columns` of it; empty without files."""
    if not uris:
        return (
            "SELECT * FROM (SELECT NULL::VARCHAR AS conversation_id, NULL::VARCHAR AS "
            "environment, NULL::VARCHAR AS cluster_id, NULL::BIGINT AS version, "
            "NULL::TIMESTAMP AS first_ts, NULL::TIMESTAMP AS last_ts, NULL::BIGINT AS "
            "assigned_at, NULL::VARCHAR AS embedder, NULL::BLOB AS vector) WHERE false"
        )
    listed = ", ".join(f"'{_sql_path(u)}'" for u in uris)
    return (
        f"SELECT {columns} FROM read_parquet([{listed}]) "
        "QUALIFY row_number() OVER (PARTITION BY conversation_id ORDER BY assigned_at DESC) = 1"
    )


class ClusterStore:
    """The clusters' files of each tenant; storage faults are StorageUnavailable (retryable)."""

    def __init__(self, lake: LakeStore) -> None:
        self.lake = lake
        self._s3 = lake.s3
        if lake.is_s3:
            self.bucket = lake.bucket
            _, _, prefix = lake.uri.removeprefix("s3://").partition("/")
            self._prefix = f"{prefix}/{CLUSTERS}/" if prefix else f"{CLUSTERS}/"
        else:
            self.root = Path(lake.uri) / CLUSTERS

    def _key(self, tenant: str, name: str) -> str:
        return f"{self._prefix}{tenant_folder(tenant)}/{name}"

    def uri(self, tenant: str, name: str) -> str:
        if self.lake.is_s3:
            return f"s3://{self.bucket}/{self._key(tenant, name)}"
        return str(self.root / tenant_folder(tenant) / name)

    # --- the model -------------------------------------------------------------------------------

    def load_model(self, tenant: str) -> Model | None:
        raw = self._read(tenant, MODEL)
        return Model.from_json(orjson.loads(raw)) if raw is not None else None

    def save_model(self, tenant: str, model: Model) -> None:
        self._write(tenant, MODEL, orjson.dumps(model.as_json()))

    # --- members ---------------------------------------------------------------------------------

    def member_files(self, tenant: str) -> list[str]:
        """The tenant's members files' names, oldest first."""
        return sorted(n for n in self._names(tenant) if n.startswith(MEMBERS_PREFIX))

    def write_members(self, tenant: str, members: Iterable[Member]) -> str:
        """One new members file (its name); rows carry the file's time as `assigned_at`."""
        import numpy as np

        now = time.time_ns()
        name = f"{MEMBERS_PREFIX}{now:020d}-{uuid.uuid4().hex[:12]}.parquet"
        with tempfile.TemporaryDirectory(prefix="clusters-") as work:
            staged = Path(work) / "members.jsonl"
            with staged.open("wb") as out:
                for m in members:
                    out.write(
                        orjson.dumps(
                            {
                                "conversation_id": m.conversation_id,
                                "environment": m.environment,
                                "cluster_id": m.cluster_id,
                                "version": m.version,
                                "first_ts": m.first_ts,
                                "last_ts": m.last_ts,
                                "assigned_at": now,
                                "embedder": m.embedder,
                                "vector": base64.b64encode(
                                    np.asarray(m.vector, dtype=np.float32).tobytes()
                                ).decode(),
                            }
                        )
                        + b"\n"
                    )
            target = Path(work) / name
            con = connect()
            try:
                con.execute(
                    f"COPY (SELECT * REPLACE (from_base64(vector) AS vector) FROM read_json(?, "
                    f"format='newline_delimited', columns={_MEMBER_COLUMNS})) "
                    f"TO '{_sql_path(str(target))}' (FORMAT parquet, COMPRESSION zstd)",
                    [str(staged)],
                )
            finally:
                con.close()
            self._write(tenant, name, target.read_bytes())
        return name

    def delete_members_before(self, tenant: str, before_ns: int) -> None:
        """Drop the members files written before `before_ns` (a re-clustering superseded them)
        and at least SUPERSEDED_KEPT_SECONDS ago."""
        before_ns = min(before_ns, time.time_ns() - SUPERSEDED_KEPT_SECONDS * 1_000_000_000)
        old = [
            n for n in self.member_files(tenant) if int(n[len(MEMBERS_PREFIX) :][:20]) < before_ns
        ]
        self._delete(tenant, old)

    # --- storage ---------------------------------------------------------------------------------

    def _read(self, tenant: str, name: str) -> bytes | None:
        try:
            if self.lake.is_s3:
                try:
                    answer = self._s3.get_object(Bucket=self.bucket, Key=self._key(tenant, name))
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                        return None
                    raise
                body: bytes = answer["Body"].read()
                return body
            path = self.root / tenant_folder(tenant) / name
            return path.read_bytes() if path.is_file() else None
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable(f"clusters: reading {name}: {exc}") from exc

    def _write(self, tenant: str, name: str, data: bytes) -> None:
        try:
            if self.lake.is_s3:
                self._s3.put_object(Bucket=self.bucket, Key=self._key(tenant, name), Body=data)
                return
            folder = self.root / tenant_folder(tenant)
            folder.mkdir(parents=True, exist_ok=True)
            hidden = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
            hidden.write_bytes(data)
            os.replace(hidden, folder / name)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable(f"clusters: writing {name}: {exc}") from exc

    def _names(self, tenant: str) -> list[str]:
        try:
            if self.lake.is_s3:
                prefix = self._key(tenant, "")
                pages = self._s3.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix
                )
                return [o["Key"][len(prefix) :] for p in pages for o in p.get("Contents", [])]
            folder = self.root / tenant_folder(tenant)
            return [p.name for p in folder.iterdir()] if folder.is_dir() else []
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable(f"clusters: listing {tenant}: {exc}") from exc

    def _delete(self, tenant: str, names: list[str]) -> None:
        if not names:
            return
        try:
            if self.lake.is_s3:
                for start in range(0, len(names), 1000):
                    chunk = names[start : start + 1000]
                    self._s3.delete_objects(
                        Bucket=self.bucket,
                        Delete={
                            "Objects": [{"Key": self._key(tenant, n)} for n in chunk],
                            "Quiet": True,
                        },
                    )
                return
            for name in names:
                (self.root / tenant_folder(tenant) / name).unlink(missing_ok=True)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageUnavailable(f"clusters: deleting in {tenant}: {exc}") from exc
