"""Clustering embeddings: spectral clustering (a k-nearest-neighbour graph of a sample, k from
the data by silhouette), every conversation then in its nearest cluster; labels from each
cluster's distinctive words (c-TF-IDF), and stable ids across runs. numpy only; every random
choice is seeded, so one input gives one answer (docs/clusters.md "Clustering")."""

from __future__ import annotations

import math
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_K = 40
SAMPLE = 2_000  # conversations the graph, its eigenvectors and each k's silhouette are built on
NEIGHBOURS = 10  # edges per conversation in the similarity graph
MIN_SIZE = 5  # conversations per cluster at the largest k tried (k ≤ sample / MIN_SIZE)
_ITERATIONS = 30
_RESTARTS = 3  # k-means in the spectral space from several seeds, the tightest kept
_POWER_STEPS = 20  # subspace iterations for the graph's leading eigenvectors
_OVERSAMPLE = 10  # extra vectors in that subspace
_LABEL_TERMS = 3
SAME_MEMBERS = 0.5  # Jaccard overlap at which a new cluster keeps an old cluster's id
SAME_CENTROID = 0.95  # ... or cosine of the centroids, when members changed (a new window)


def kmeans(points: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (cosine) with k-means++ seeding: (assignment, unit centroids)."""
    rng = np.random.default_rng(seed)
    n = len(points)
    centroids = np.empty((k, points.shape[1]), dtype=np.float32)
    centroids[0] = points[rng.integers(n)]
    distance = np.clip(1.0 - points @ centroids[0], 0.0, None)
    for j in range(1, k):
        weights = distance**2
        total = float(weights.sum())
        pick = int(rng.choice(n, p=weights / total)) if total > 0 else int(rng.integers(n))
        centroids[j] = points[pick]
        distance = np.minimum(distance, np.clip(1.0 - points @ centroids[j], 0.0, None))
    assignment = np.zeros(n, dtype=np.intp)
    for step in range(_ITERATIONS):
        updated = np.argmax(points @ centroids.T, axis=1)
        if step and np.array_equal(updated, assignment):
            break
        assignment = updated
        sums = _sums(points, assignment, k).astype(np.float32)
        norms = np.linalg.norm(sums, axis=1)
        alive = norms > 0
        centroids[alive] = sums[alive] / norms[alive, None]
    return assignment, centroids


def _sums(points: np.ndarray, assignment: np.ndarray, k: int) -> np.ndarray:
    """Each cluster's sum of its points (float64), clusters 0…k-1 (one sort, one reduceat:
    np.add.at is several times slower)."""
    counts = np.bincount(assignment, minlength=k)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sums = np.zeros((k, points.shape[1]), dtype=np.float64)
    filled = counts > 0
    if filled.any():
        ordered = points[np.argsort(assignment, kind="stable")].astype(np.float64)
        sums[filled] = np.add.reduceat(ordered, starts[filled], axis=0)
    return sums


def silhouette(
    points: np.ndarray, assignment: np.ndarray, distance: np.ndarray | None = None
) -> float:
    """Mean silhouette with cosine distance (points are unit vectors; `distance`, when given,
    is their 1 - cosine matrix)."""
    labels = np.unique(assignment)
    if len(labels) < 2:
        return -1.0
    if distance is None:
        distance = 1.0 - points @ points.T
    own = np.searchsorted(labels, assignment)
    n = len(points)
    members = np.zeros((n, len(labels)), dtype=distance.dtype)
    members[np.arange(n), own] = 1.0
    sizes = members.sum(axis=0)
    per_cluster = (distance @ members) / sizes
    own_size = sizes[own]
    # Mean distance to the others of one's own cluster (excluding oneself, at distance 0).
    inside = per_cluster[np.arange(n), own] * own_size / np.maximum(own_size - 1, 1)
    per_cluster[np.arange(n), own] = np.inf
    nearest = per_cluster.min(axis=1)
    score = (nearest - inside) / np.maximum(np.maximum(nearest, inside), 1e-9)
    score[own_size == 1] = 0.0
    return float(score.mean())


def _graph(similarity: np.ndarray) -> np.ndarray:
    """The symmetric normalized affinity D^-1/2 A D^-1/2 of the k-nearest-neighbour graph: each
    point linked to its NEIGHBOURS most similar (cosine, negatives as 0), either way."""
    n = len(similarity)
    near = min(NEIGHBOURS, n - 1)
    others = similarity.copy()
    np.fill_diagonal(others, -np.inf)
    nearest = np.argpartition(-others, near - 1, axis=1)[:, :near]
    rows = np.repeat(np.arange(n), near)
    affinity = np.zeros((n, n), dtype=np.float64)
    affinity[rows, nearest.ravel()] = np.maximum(similarity[rows, nearest.ravel()], 0.0)
    affinity = np.maximum(affinity, affinity.T)
    degree = affinity.sum(axis=1)
    scale = 1.0 / np.sqrt(np.where(degree > 0, degree, 1.0))
    return affinity * scale[:, None] * scale[None, :]


def _leading_eigenvectors(matrix: np.ndarray, count: int, seed: int) -> np.ndarray:
    """The `count` eigenvectors of the largest eigenvalues of a symmetric matrix whose spectrum
    is in [-1, 1], largest first: subspace iteration on (M + I) / 2, then Rayleigh-Ritz (a full
    eigendecomposition of 2,000 x 2,000 takes 10-30 s on a loaded CPU, this about 1 s)."""
    n = len(matrix)
    width = min(n, count + _OVERSAMPLE)
    shifted = (matrix + np.eye(n)) / 2.0
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((n, width)))[0]
    for _ in range(_POWER_STEPS):
        basis = np.linalg.qr(shifted @ basis)[0]
    values, vectors = np.linalg.eigh(basis.T @ shifted @ basis)
    order = np.argsort(-values)[:count]
    return np.asarray(basis @ vectors[:, order])


def _centred_distance(points: np.ndarray) -> np.ndarray:
    """1 - cosine between the points less their mean: the direction every conversation of a
    tenant shares (its product, an order, an apology) says nothing of how its groups differ,
    yet it weighs in every cosine (docs/clusters.md "Clustering")."""
    centred = points.astype(np.float64) - points.mean(axis=0, dtype=np.float64)
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    return np.asarray(1.0 - centred @ centred.T)


def spectral(points: np.ndarray, seed: int = 0, k: int | None = None) -> np.ndarray:
    """Spectral clustering (Ng, Jordan & Weiss) of a few thousand points: for each k in
    2…min(MAX_K, n / MIN_SIZE), spherical k-means on the rows of the graph's k leading
    eigenvectors; the k whose partition has the best mean silhouette (cosine between the
    points less their mean) wins; `k` given, that k alone (bench/eval_clusters.py). One
    cluster for fewer than 6 points."""
    n = len(points)
    if n < 6:
        return np.zeros(n, dtype=np.intp)
    similarity = (points @ points.T).astype(np.float64)
    distance = _centred_distance(points) if k is None else None
    high = max(2, min(MAX_K, n // MIN_SIZE, n - 1)) if k is None else min(k, n)
    vectors = _leading_eigenvectors(_graph(similarity), high, seed)
    best: tuple[float, np.ndarray] | None = None
    for count in range(2, high + 1) if k is None else [high]:
        rows = vectors[:, :count]
        rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        rows = rows.astype(np.float32)
        tightest: tuple[float, np.ndarray] | None = None
        for restart in range(_RESTARTS):
            assignment, centroids = kmeans(rows, count, seed + restart)
            tightness = float(np.einsum("ij,ij->", rows, centroids[assignment]))
            if tightest is None or tightness > tightest[0] + 1e-9:
                tightest = (tightness, assignment)
        assert tightest is not None
        if distance is None:
            return tightest[1]
        score = silhouette(points, tightest[1], distance)
        if best is None or score > best[0] + 1e-6:
            best = (score, tightest[1])
    assert best is not None
    return best[1] if best[0] > -1.0 else np.zeros(n, dtype=np.intp)


def _centroids(points: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Each cluster's unit mean direction, clusters numbered 0…max(assignment)."""
    sums = _sums(points, assignment, int(assignment.max()) + 1)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def cluster(
    points: np.ndarray, seed: int = 0, k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(assignment, centroids) with k chosen from the data: spectral clustering of a sample
    of at most SAMPLE points, then every point in the cluster of the nearest centroid (as the
    assigner will put new conversations), the centroids then made from all their members.
    Clusters left empty are dropped and the others numbered 0…k-1."""
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros((0, points.shape[1]), dtype=np.float32)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, SAMPLE), replace=False))
    found = spectral(points[sample], seed, k)
    assignment = np.argmax(points @ _centroids(points[sample], found).T, axis=1)
    _, assignment = np.unique(assignment, return_inverse=True)
    return assignment.astype(np.intp), _centroids(points, assignment)


def labels(term_counts: Sequence[Counter[str]]) -> list[list[str]]:
    """Each cluster's most distinctive words, c-TF-IDF (BERTopic's class-based TF-IDF): a
    word's frequency in the cluster * log(1 + average words per cluster / its frequency in
    all clusters). The counts never hold stop, time or politeness words (embedding.words)."""
    totals: Counter[str] = Counter()
    for counts in term_counts:
        totals.update(counts)
    average = sum(totals.values()) / max(len(term_counts), 1)
    found = []
    for counts in term_counts:
        size = sum(counts.values()) or 1
        scored = sorted(
            counts,
            key=lambda w: (-(counts[w] / size) * math.log(1 + average / totals[w]), w),
        )
        found.append(scored[:_LABEL_TERMS])
    return found


def new_id() -> str:
    return "cl_" + secrets.token_hex(6)


@dataclass(frozen=True)
class Previous:
    """An existing cluster, as the stable-id matching sees it."""

    id: str
    members: frozenset[str]
    centroid: np.ndarray


def stable_ids(
    members: Sequence[frozenset[str]], centroids: np.ndarray, previous: Sequence[Previous]
) -> list[str]:
    """An id for each new cluster: an old cluster's id when they share most members (Jaccard
    ≥ SAME_MEMBERS) or, failing that, point the same way (centroid cosine ≥ SAME_CENTROID);
    best pairs first, each old id used once; a new id otherwise."""
    pairs = []
    for i, new in enumerate(members):
        for j, old in enumerate(previous):
            union = len(new | old.members)
            jaccard = len(new & old.members) / union if union else 0.0
            cosine = float(centroids[i] @ old.centroid)
            if jaccard >= SAME_MEMBERS or cosine >= SAME_CENTROID:
                pairs.append((jaccard, cosine, i, j))
    ids: list[str | None] = [None] * len(members)
    used: set[int] = set()
    for _, _, i, j in sorted(pairs, reverse=True):
        if ids[i] is None and j not in used:
            ids[i] = previous[j].id
            used.add(j)
    return [found or new_id() for found in ids]
