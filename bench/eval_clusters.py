"""Cluster evaluation: the clusterer run on a labeled set (bench/insights_eval/*.jsonl, each
conversation tagged with an `intent` by helpers who never saw this code), compared with the
intents: purity, normalized mutual information and adjusted Rand index, for k chosen from the
data (as in production) and for k = the number of intents.

    python -m bench.eval_clusters            # tune half
    python -m bench.eval_clusters --half heldout   # report once, never tune on it
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from shared.clusters import clustering
from shared.clusters.embedding import LocalEmbedder

SET = Path(__file__).parent / "insights_eval"


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


def text_of(row: dict[str, object]) -> str:
    messages = row["messages"]
    assert isinstance(messages, list)
    return "\n".join(str(m.get("content") or "") for m in messages)


def evaluate(half: str) -> dict[str, float]:
    rows = [json.loads(line) for line in (SET / f"{half}.jsonl").read_text().splitlines() if line]
    truth = [str(r["intent"]) for r in rows]
    points = LocalEmbedder().embed([text_of(r) for r in rows])
    chosen, _ = clustering.cluster(points)
    fixed, _ = clustering.kmeans(points, len(set(truth)))
    found_k = len(set(chosen.tolist()))
    return {
        "conversations": len(rows),
        "intents": len(set(truth)),
        "k_chosen": found_k,
        "purity": purity(chosen.tolist(), truth),
        "nmi": nmi(chosen.tolist(), truth),
        "ari": adjusted_rand(chosen.tolist(), truth),
        "purity_k_intents": purity(fixed.tolist(), truth),
        "nmi_k_intents": nmi(fixed.tolist(), truth),
        "ari_k_intents": adjusted_rand(fixed.tolist(), truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--half", choices=["tune", "heldout"], default="tune")
    args = parser.parse_args()
    if not (SET / f"{args.half}.jsonl").is_file():
        print(f"cluster evaluation ({args.half}): bench/insights_eval/{args.half}.jsonl is absent")
        return
    figures = evaluate(args.half)
    print(f"cluster evaluation ({args.half}, local embedder):")
    for name, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"  {name}: {shown}")
    print(f"target: purity >= 0.80 locally: {figures['purity']:.3f}")


if __name__ == "__main__":
    main()
