"""`make eval-insights`: the local analyzer against the labeled set in insights_eval.jsonl.

Prints accuracy for sentiment and taskCompleted, a confusion table for each, and the misses.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.insights.analysis import SENTIMENTS
from shared.insights.local import LocalAnalyzer

DATA = Path(__file__).with_name("insights_eval.jsonl")


@dataclass(frozen=True)
class Result:
    sentiment_accuracy: float
    task_accuracy: float
    sentiment_confusion: Counter[tuple[str, str]]
    task_confusion: Counter[tuple[str, str]]
    misses: list[str]
    size: int


def load_cases(path: Path = DATA) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(cases: list[dict[str, Any]]) -> Result:
    analyzer = LocalAnalyzer()
    sentiment: Counter[tuple[str, str]] = Counter()
    task: Counter[tuple[str, str]] = Counter()
    misses = []
    for case in cases:
        messages = [{"role": role, "content": text} for role, text in case["turns"]]
        got = analyzer.analyze(messages)
        sentiment[(case["sentiment"], got.sentiment)] += 1
        task[(str(case["taskCompleted"]), str(got.task_completed))] += 1
        if got.sentiment != case["sentiment"] or got.task_completed != case["taskCompleted"]:
            misses.append(
                f"{case['id']:<14} sentiment {case['sentiment']}→{got.sentiment} "
                f"({got.sentiment_score:+.2f}), taskCompleted "
                f"{case['taskCompleted']}→{got.task_completed}"
            )
    size = len(cases)
    return Result(
        sentiment_accuracy=sum(n for (want, got), n in sentiment.items() if want == got) / size,
        task_accuracy=sum(n for (want, got), n in task.items() if want == got) / size,
        sentiment_confusion=sentiment,
        task_confusion=task,
        misses=misses,
        size=size,
    )


def confusion_table(counts: Counter[tuple[str, str]], labels: tuple[str, ...]) -> str:
    width = max(len(label) for label in labels) + 2
    lines = ["labeled \\ predicted".ljust(20) + "".join(label.rjust(width) for label in labels)]
    for want in labels:
        row = "".join(str(counts[(want, got)]).rjust(width) for got in labels)
        lines.append(want.ljust(20) + row)
    return "\n".join(lines)


def main() -> int:
    result = evaluate(load_cases())
    print(f"Local analyzer on {result.size} labeled conversations ({DATA.name})")
    print(f"  sentiment accuracy:     {result.sentiment_accuracy:.1%}")
    print(f"  taskCompleted accuracy: {result.task_accuracy:.1%}")
    print("\nSentiment")
    print(confusion_table(result.sentiment_confusion, SENTIMENTS))
    print("\ntaskCompleted")
    print(confusion_table(result.task_confusion, ("True", "False")))
    print(f"\nMisses ({len(result.misses)}):")
    print("\n".join(f"  {miss}" for miss in result.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
