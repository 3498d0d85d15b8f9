"""Cluster evaluation: the clusterer run on a labeled set (bench/insights_eval/*.jsonl, each
conversation tagged with an `intent` by helpers who never saw this code), compared with the
intents: purity, normalized mutual information and adjusted Rand index, for k chosen from the
data (as in production) and for k = the number of intents.

    python -m bench.eval_clusters                  # every tuning half, each and their mean
    python -m bench.eval_clusters --half tune_b    # one half
    python -m bench.eval_clusters --half heldout   # report once, never tune on it

Tuning halves: the insights evaluation's tune writers (`tune` for pair A, `tune_b` … as its
`WRITER_LETTERS` lists), each but A once the held-out half. A conversation is read as the
service reads it from the lake (shared/clusters/service.py): its messages' text in order, and
the user's turns apart.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.eval_insights import DATA as SET
from bench.eval_insights import TUNE_FILES
from shared.clusters import clustering
from shared.clusters.embedding import TURN, Document, LocalEmbedder

TUNING = tuple(name.removesuffix(".jsonl") for name in TUNE_FILES)  # "tune", "tune_b", …


def purity(found: Sequence[int], truth: Sequence[str]) -> float:
    by_cluster: dict[int, Counter[str]] = {}
    for f, t in zip(found, truth, strict=True):
        by_cluster.setdefault(f, Counter())[t] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(truth)


def adjusted_rand(found: Sequence[int], truth: Sequence[str]) -> float:
    pairs = Counter(zip(found, truth, strict=True))
    same_both = sum(math.comb(v, 2) for v in pairs.values())
    same_found = sum(math.comb(v, 2) for v in Counter(found).values())
    same_truth = sum(math.comb(v, 2) for v in Counter(truth).values())
    expected = same_found * same_truth / math.comb(len(truth), 2)
    most = (same_found + same_truth) / 2
    return (same_both - expected) / (most - expected) if most != expected else 1.0


def nmi(found: Sequence[int], truth: Sequence[str]) -> float:
    n = len(truth)
    pairs = Counter(zip(found, truth, strict=True))
    cf, ct = Counter(found), Counter(truth)
    mutual = sum(v / n * math.log(v * n / (cf[f] * ct[t])) for (f, t), v in pairs.items())
    entropy_f = -sum(v / n * math.log(v / n) for v in cf.values())
    entropy_t = -sum(v / n * math.log(v / n) for v in ct.values())
    mean = (entropy_f + entropy_t) / 2
    return mutual / mean if mean else 1.0


def document_of(row: dict[str, Any]) -> Document:
    """The conversation as the service builds it from its lake rows."""
    messages = row["messages"]
    assert isinstance(messages, list)
    texts = [(str(m.get("role") or ""), str(m.get("content") or "")) for m in messages]
    return Document(
        "\n".join(text for _, text in texts),
        TURN.join(text for role, text in texts if role == "user"),
    )


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def half_path(half: str) -> Path | None:
    path = SET / f"{half}.jsonl"
    return path if path.exists() else None


def evaluate(half: str) -> dict[str, float | int]:
    path = half_path(half)
    if path is None:
        raise FileNotFoundError(half)
    rows = _rows(path)
    truth = [str(r["intent"]) for r in rows]
    points = LocalEmbedder().embed([document_of(r) for r in rows])
    chosen, _ = clustering.cluster(points)
    fixed, _ = clustering.cluster(points, k=len(set(truth)))
    found, at_k = chosen.tolist(), fixed.tolist()
    return {
        "conversations": len(rows),
        "intents": len(set(truth)),
        "k_chosen": len(set(found)),
        "purity": purity(found, truth),
        "nmi": nmi(found, truth),
        "ari": adjusted_rand(found, truth),
        "purity_k_intents": purity(at_k, truth),
        "nmi_k_intents": nmi(at_k, truth),
        "ari_k_intents": adjusted_rand(at_k, truth),
    }


_COLUMNS = (
    "k_chosen",
    "purity",
    "nmi",
    "ari",
    "purity_k_intents",
    "nmi_k_intents",
    "ari_k_intents",
)


def _line(name: str, figures: dict[str, float | int]) -> str:
    shown = [
        f"{figures[c]:.3f}" if isinstance(figures[c], float) else str(figures[c]) for c in _COLUMNS
    ]
    return f"{name:<10} {figures['conversations']:>5} " + " ".join(f"{v:>8}" for v in shown)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--half", choices=[*TUNING, "heldout"], default=None)
    args = parser.parse_args()
    halves = [args.half] if args.half else [h for h in TUNING if half_path(h) is not None]
    if args.half == "heldout" and half_path("heldout") is None:
        print("cluster evaluation (heldout): no held-out half (heldout.jsonl is absent)")
        return
    if not halves:
        sys.exit("no half to evaluate")
    print("cluster evaluation, local embedder (k = 10: the number of intents):")
    print(
        f"{'half':<10} {'n':>5} "
        + " ".join(f"{c.replace('_k_intents', '@10'):>8}" for c in _COLUMNS)
    )
    results = {h: evaluate(h) for h in halves}
    for half, figures in results.items():
        print(_line(half, figures))
    if len(results) > 1:
        mean: dict[str, float | int] = {
            "conversations": sum(int(f["conversations"]) for f in results.values())
        }
        for c in _COLUMNS:
            mean[c] = sum(float(f[c]) for f in results.values()) / len(results)
        print(_line("mean", mean))
    purities = [float(f["purity"]) for f in results.values()]
    print(f"target: purity >= 0.80 locally: {sum(purities) / len(purities):.3f}")


if __name__ == "__main__":
    main()
