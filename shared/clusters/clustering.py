"""Clustering embeddings: spherical k-means (k from the data by silhouette on a sample),
labels from each cluster's distinctive words (c-TF-IDF), and stable ids across runs.
numpy only; every random choice is seeded, so one input gives one answer."""

from __future__ import annotations

import math
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_K = 40
SAMPLE = 2_000  # points the silhouette of each candidate k is measured on
_ITERATIONS = 30
_RESTARTS = 3  # k-means from several seeds, the tightest kept (one seeding can split a topic)
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
        sums = np.zeros_like(centroids)
        np.add.at(sums, assignment, points)
        norms = np.linalg.norm(sums, axis=1)
        alive = norms > 0
        centroids[alive] = sums[alive] / norms[alive, None]
    return assignment, centroids


def silhouette(points: np.ndarray, assignment: np.ndarray) -> float:
    """Mean silhouette with cosine distance (points are unit vectors)."""
    labels = np.unique(assignment)
    if len(labels) < 2:
        return -1.0
    distance = 1.0 - points @ points.T
    per_cluster = np.stack([distance[:, assignment == c].mean(axis=1) for c in labels], axis=1)
    sizes = np.array([(assignment == c).sum() for c in labels])
    own = np.searchsorted(labels, assignment)
    n = len(points)
    own_size = sizes[own]
    # Mean distance to the others of one's own cluster (excluding oneself, at distance 0).
    inside = per_cluster[np.arange(n), own] * own_size / np.maximum(own_size - 1, 1)
    per_cluster[np.arange(n), own] = np.inf
    nearest = per_cluster.min(axis=1)
    score = (nearest - inside) / np.maximum(np.maximum(nearest, inside), 1e-9)
    score[own_size == 1] = 0.0
    return float(score.mean())


def choose_k(points: np.ndarray, seed: int = 0) -> int:
    """The k in 2…MAX_K (at most √(n/2)… so a cluster has members) with the best silhouette
    on a sample; 1 for fewer than 6 points."""
    n = len(points)
    if n < 6:
        return 1
    rng = np.random.default_rng(seed)
    sample = points[rng.choice(n, size=min(n, SAMPLE), replace=False)]
    high = max(2, min(MAX_K, int(math.sqrt(len(sample) / 2)) + 1, len(sample) - 1))
    best_k, best = 2, -2.0
    for k in range(2, high + 1):
        assignment, _ = kmeans(sample, k, seed)
        score = silhouette(sample, assignment)
        if score > best + 1e-6:
            best_k, best = k, score
    return best_k


def cluster(points: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(assignment, centroids) with k chosen from the data."""
    k = choose_k(points, seed)
    if k == 1:
        centroid = points.sum(axis=0)
        norm = float(np.linalg.norm(centroid))
        return np.zeros(len(points), dtype=np.intp), (centroid / (norm or 1.0))[None, :]
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for restart in range(_RESTARTS):
        assignment, centroids = kmeans(points, k, seed + restart)
        tightness = float(np.einsum("ij,ij->", points, centroids[assignment]))
        if best is None or tightness > best[0]:
            best = (tightness, assignment, centroids)
    assert best is not None
    return best[1], best[2]


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
