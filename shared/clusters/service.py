"""Clusters over the lake: re-clustering a tenant, assigning its new conversations, and the
reads of `GET /api/v1/clusters` (docs/clusters.md).

A conversation is every lake row with its conversation id (every source: ingest, OTLP, the
conversations API and its Converra runs); its text is its messages' text in order, its
environment the latest one its messages name ('' for none), its version the highest row
version, so any new message or status change makes it pending again. The user's turns are also
read apart (role `user`): the local embedder weighs them most."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from shared.clusters import clustering
from shared.clusters.embedding import DIMENSIONS, MAX_CHARS, TURN, Document, Embedder, words
from shared.clusters.store import Cluster, ClusterStore, Member, Model, member_files_sql
from shared.lake.query import files_in_range, latest_rows_sql
from shared.lake.store import LakeStore, connect, load_httpfs, read_listed
from shared.settings import get_settings

log = logging.getLogger(__name__)

_LABEL_SAMPLE = 300  # members per cluster whose words make its label
_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _connection(lake: LakeStore) -> Any:
    con = connect()
    con.execute("SET TimeZone = 'UTC'")
    if lake.is_s3:
        load_httpfs(con, get_settings())
    return con


@dataclass(frozen=True)
class Conversation:
    id: str
    environment: str
    version: int
    first_ts: str
    last_ts: str
    text: str = ""
    request: str = ""  # the user's turns, in order, joined by embedding.TURN

    @property
    def document(self) -> Document:
        return Document(self.text, self.request)


def _rows_sql(lake: LakeStore, tenant: str, since: datetime) -> str:
    files = files_in_range(lake, tenant, since.strftime("%Y-%m-%d"))
    return latest_rows_sql([lake.uri_of(f) for f in files])


def _conversations(
    con: Any, rows_sql: str, with_text: bool, only: list[str] | None = None
) -> list[Conversation]:
    text = (
        f", left(string_agg(text, chr(10) ORDER BY seq), {MAX_CHARS}) AS text, "
        f"coalesce(left(string_agg(text, chr({ord(TURN)}) ORDER BY seq) "
        f"FILTER (WHERE role = 'user'), {MAX_CHARS}), '') AS request"
        if with_text
        else ", '' AS text, '' AS request"
    )
    where = "WHERE conversation_id IN (SELECT unnest($ids))" if only is not None else ""
    sql = (
        "SELECT conversation_id, coalesce(arg_max(environment, ts) FILTER "
        "(WHERE environment IS NOT NULL), '') AS environment, max(version), "
        f"strftime(min(ts), '{_TIME}'), strftime(max(ts), '{_TIME}'){text} "
        f"FROM ({rows_sql}) {where} GROUP BY conversation_id ORDER BY conversation_id"
    )
    found = con.execute(sql, {"ids": only} if only is not None else {}).fetchall()
    return [Conversation(*row) for row in found]


def _members(con: Any, store: ClusterStore, tenant: str, vectors: bool) -> dict[str, Member]:
    uris = [store.uri(tenant, n) for n in store.member_files(tenant)]
    columns = (
        "conversation_id, environment, cluster_id, version, strftime(first_ts, '%Y-%m-%d "
        "%H:%M:%S.%f'), strftime(last_ts, '%Y-%m-%d %H:%M:%S.%f'), embedder"
        + (", vector" if vectors else "")
    )
    found = {}
    for row in con.execute(member_files_sql(uris, columns)).fetchall():
        vector = np.frombuffer(row[7], dtype=np.float32) if vectors else None
        cid, environment, cluster_id, version, first_ts, last_ts, embedder = row[:7]
        found[cid] = Member(
            cid, environment, cluster_id, version, first_ts, last_ts, embedder, vector
        )
    return found


@dataclass(frozen=True)
class Outcome:
    tenant: str
    conversations: int
    clusters: int
    reclustered: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "conversations": self.conversations,
            "clusters": self.clusters,
            "reclustered": self.reclustered,
        }


class ClusterService:
    def __init__(
        self, store: ClusterStore, embedder: Embedder, window_days: int, seed: int = 0
    ) -> None:
        self.store = store
        self.lake = store.lake
        self.embedder = embedder
        self.window = timedelta(days=window_days)
        self.seed = seed

    def tenants(self) -> list[str]:
        return sorted({f.partition.tenant_id for f in self.lake.files()})

    # --- re-clustering ---------------------------------------------------------------------------

    def recluster(self, tenant: str, now: datetime | None = None) -> Outcome:
        """Every conversation of the window clustered again, per environment; ids kept where a
        new cluster matches an old one (clustering.stable_ids)."""
        started = time.time_ns()
        now = now or datetime.now(UTC)
        since = now - self.window

        def read() -> tuple[list[Conversation], dict[str, Member]]:
            con = _connection(self.lake)
            try:
                found = _conversations(con, _rows_sql(self.lake, tenant, since), True)
                return found, _members(con, self.store, tenant, vectors=True)
            finally:
                con.close()

        conversations, previous = read_listed(read)  # compaction may move a listed file
        vectors = self._vectors(conversations, previous)
        old_model = self.store.load_model(tenant)
        clusters: list[Cluster] = []
        members: list[Member] = []
        by_env: dict[str, list[int]] = {}
        for n, c in enumerate(conversations):
            by_env.setdefault(c.environment, []).append(n)
        created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        same_space = old_model is not None and old_model.embedder == self.embedder.name
        for environment, indexes in sorted(by_env.items()):
            points = vectors[indexes]
            assignment, centroids = clustering.cluster(points, self.seed)
            groups = [np.flatnonzero(assignment == j) for j in range(len(centroids))]
            kept = [j for j, g in enumerate(groups) if len(g)]
            old = [
                clustering.Previous(
                    c.id,
                    frozenset(m for m, p in previous.items() if p.cluster_id == c.id),
                    # Another embedder's centroid is in another space: members alone match.
                    np.asarray(c.centroid if same_space else [0.0] * DIMENSIONS, np.float32),
                )
                for c in (old_model.in_environment(environment) if old_model else [])
            ]
            member_sets = [frozenset(conversations[indexes[i]].id for i in groups[j]) for j in kept]
            ids = clustering.stable_ids(member_sets, centroids[kept], old)
            term_counts = []
            for j in kept:
                counts: Counter[str] = Counter()
                for i in groups[j][:_LABEL_SAMPLE]:
                    counts.update(set(words(conversations[indexes[i]].text)))
                term_counts.append(counts)
            for cluster_id, j, terms in zip(ids, kept, clustering.labels(term_counts), strict=True):
                clusters.append(
                    Cluster(
                        id=cluster_id,
                        environment=environment,
                        label=", ".join(terms) or "(no words)",
                        terms=terms,
                        centroid=centroids[j].tolist(),
                        created_at=self._created(old_model, cluster_id, created),
                    )
                )
                for i in groups[j]:
                    members.append(
                        self._member(conversations[indexes[i]], cluster_id, vectors[indexes[i]])
                    )
        self.store.write_members(tenant, members)
        self.store.save_model(tenant, Model(self.embedder.name, created, clusters))
        self.store.delete_members_before(tenant, started)
        log.info(
            "clusters: tenant re-clustered",
            extra={"conversations": len(members), "clusters": len(clusters)},
        )
        return Outcome(tenant, len(members), len(clusters), True)

    @staticmethod
    def _created(old_model: Model | None, cluster_id: str, now: str) -> str:
        for c in old_model.clusters if old_model else []:
            if c.id == cluster_id:
                return c.created_at
        return now

    def _member(self, c: Conversation, cluster_id: str, vector: np.ndarray) -> Member:
        return Member(
            c.id,
            c.environment,
            cluster_id,
            c.version,
            c.first_ts,
            c.last_ts,
            self.embedder.name,
            vector,
        )

    def _vectors(
        self, conversations: list[Conversation], previous: dict[str, Member]
    ) -> np.ndarray:
        """Each conversation's embedding: the stored one when it was made by this embedder of
        this very version, else a new one."""
        out = np.zeros((len(conversations), DIMENSIONS), dtype=np.float32)
        todo = []
        for n, c in enumerate(conversations):
            old = previous.get(c.id)
            if old is not None and old.version == c.version and old.embedder == self.embedder.name:
                out[n] = old.vector if old.vector is not None else 0.0
            else:
                todo.append(n)
        if todo:
            out[todo] = self.embedder.embed([conversations[n].document for n in todo])
        return out

    # --- assignment ------------------------------------------------------------------------------

    def assign(self, tenant: str, now: datetime | None = None) -> Outcome:
        """The tenant's new or changed conversations, each put in the nearest cluster of its
        environment (cosine to the centroid). A tenant without clusters yet, or whose clusters
        another embedder made, or a conversation in an environment that has none, is
        re-clustered instead."""
        now = now or datetime.now(UTC)
        model = self.store.load_model(tenant)
        if model is None or model.embedder != self.embedder.name:
            # No clusters yet, or centroids in another embedder's space (a new embedder or a
            # new version of one): nearest centroids would mean nothing, so cluster afresh.
            return self.recluster(tenant, now)
        known = {c.id for c in model.clusters}
        since = now - self.window

        def read() -> list[Conversation]:
            con = _connection(self.lake)
            try:
                rows_sql = _rows_sql(self.lake, tenant, since)
                current = _conversations(con, rows_sql, False)
                members = _members(con, self.store, tenant, vectors=False)
                pending = [
                    c.id
                    for c in current
                    if (m := members.get(c.id)) is None
                    or m.version < c.version
                    or m.cluster_id not in known
                ]
                return _conversations(con, rows_sql, True, only=pending) if pending else []
            finally:
                con.close()

        changed = read_listed(read)  # compaction may move a listed file
        if not changed:
            return Outcome(tenant, 0, len(model.clusters), False)
        environments = {c.environment for c in model.clusters}
        if any(c.environment not in environments for c in changed):
            return self.recluster(tenant, now)
        vectors = self.embedder.embed([c.document for c in changed])
        assigned = []
        for conversation, vector in zip(changed, vectors, strict=True):
            candidates = model.in_environment(conversation.environment)
            centroids = np.asarray([c.centroid for c in candidates], dtype=np.float32)
            nearest = candidates[int(np.argmax(centroids @ vector))]
            assigned.append(self._member(conversation, nearest.id, vector))
        self.store.write_members(tenant, assigned)
        return Outcome(tenant, len(assigned), len(model.clusters), False)
