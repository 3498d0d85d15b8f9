"""`make eval-insights`: an insights analyzer against the independent labeled set.

bench/insights_eval/ holds two halves written and labeled by people who never saw the analyzer
(docs/insights.md): `tune.jsonl` (tune on it freely) and `heldout.jsonl` (the reported figure:
never read item by item, never tuned on). For each half this prints sentiment accuracy with
per-class precision/recall and a confusion matrix, the low/high-confidence split, taskCompleted
accuracy, topics accuracy and the number of junk topics. `regression.jsonl` is the old set the
analyzer's own authors wrote: `--half regression` runs it as a regression check, never reported
as accuracy.

    python -m bench.eval_insights                      # both halves, local analyzer
    python -m bench.eval_insights --half tune --misses # the tuning half, with every miss
    python -m bench.eval_insights --analyzer bedrock   # the Bedrock path, stubbed transport

Topics accuracy: a conversation's topics are right when at least one of the analyzer's first
`TOPICS_SCORED` topics matches one of its labeled `topicTerms` (after normalization: lowercase,
accents and punctuation dropped, a plural `s` dropped; a match is equality or one phrase
containing the other as whole words) and none of its topics is junk. Junk: a topic made only
of stop words, time words ("time", "days", "today"), politeness words ("thanks", "great"),
numbers or single letters — in any of the set's languages. The junk list here is the
evaluation's own, separate from the analyzer's filter, so the check is not circular.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.insights.analysis import SENTIMENTS, Analysis, Analyzer, Messages
from shared.insights.lexicon import word_set  # only the helper, not the analyzer's lists

DATA = Path(__file__).with_name("insights_eval")
HALVES = ("heldout", "tune")  # the reported half first
TOPICS_SCORED = 3

_JUNK_WORDS = word_set(
    """
    a an the and or but if of to in on at by for with from about as into over after before
    i me my we our you your he she it its they them their this that these those is are was were
    be been being am do does did done have has had get got can could would should will shall
    may might must not no yes ok okay so just very really also too still again here there
    what which who when where why how all any some one ones thing things something anything
    time times day days today tomorrow yesterday week weeks month months year years hour hours
    minute minutes moment now later morning evening night monday tuesday wednesday thursday
    friday saturday sunday mornings evenings nights mondays tuesdays wednesdays thursdays
    fridays saturdays sundays weekend weekends
    thanks thank thx please hello hi hey bye goodbye great good nice fine cool awesome perfect
    sorry welcome help lot much sure right well
    le la les un une des de du et ou mais je tu il elle nous vous ils mon ma mes votre vos
    est sont pas ne que qui quoi ce cette ces pour avec dans sur par merci bonjour bonsoir
    jour jours semaine semaines mois an ans annee annees heure heures temps aujourd hui demain
    hier fois oui non
    el los las unos unas del y o pero yo tu mi mis su sus es son no que quien esto esta este
    para con en por gracias hola dia dias semana semanas mes meses ano anos hora horas tiempo
    hoy manana ayer
    vez veces si favor buenas buenos
    der die das ein eine und oder aber ich du er sie es wir ihr mein meine ist sind nicht
    dass was wer fur mit auf von zu danke bitte hallo tag tage woche monat jahr stunde
    stunden zeit heute morgen gestern mal ja nein wochen monate jahre
    il lo gli di che per con non sono grazie ciao giorno giorni oggi ieri domani tempo
    o os um uma do da dos das nao obrigado obrigada ola dia dias hoje ontem amanha tempo
    """
)


def normalize(phrase: str) -> str:
    """Lowercase, accents and punctuation dropped, a plural `s` dropped from each word."""
    plain = unicodedata.normalize("NFKD", phrase.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    words = re.findall(r"[a-z0-9]+", plain)
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def is_junk(topic: str) -> bool:
    plain = unicodedata.normalize("NFKD", topic.lower())
    words = re.findall(r"[a-z0-9]+", "".join(c for c in plain if not unicodedata.combining(c)))
    return not words or all(w in _JUNK_WORDS or w.isdigit() or len(w) < 2 for w in words)


def _contains(longer: str, shorter: str) -> bool:
    return f" {shorter} " in f" {longer} "


def topic_matches(topic: str, terms: Iterable[str]) -> bool:
    got = normalize(topic)
    for term in terms:
        want = normalize(term)
        if got and want and (_contains(got, want) or _contains(want, got)):
            return True
    return False


@dataclass
class Scores:
    size: int = 0
    sentiment: Counter[tuple[str, str]] = field(default_factory=Counter)
    sentiment_by_confidence: Counter[tuple[str, bool]] = field(default_factory=Counter)
    task: Counter[tuple[bool, bool]] = field(default_factory=Counter)
    topics_right: int = 0
    junk_topics: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def sentiment_accuracy(self) -> float:
        return sum(n for (want, got), n in self.sentiment.items() if want == got) / self.size

    @property
    def task_accuracy(self) -> float:
        return sum(n for (want, got), n in self.task.items() if want == got) / self.size

    @property
    def topics_accuracy(self) -> float:
        return self.topics_right / self.size

    def precision_recall(self, label: str) -> tuple[float, float]:
        hit = self.sentiment[(label, label)]
        predicted = sum(n for (_, got), n in self.sentiment.items() if got == label)
        labeled = sum(n for (want, _), n in self.sentiment.items() if want == label)
        return (hit / predicted if predicted else 0.0, hit / labeled if labeled else 0.0)

    def confidence_accuracy(self, confidence: str) -> tuple[float, int]:
        right = self.sentiment_by_confidence[(confidence, True)]
        total = right + self.sentiment_by_confidence[(confidence, False)]
        return (right / total if total else 0.0, total)


def load_cases(half: str) -> list[dict[str, Any]]:
    path = DATA / f"{half}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def messages_of(case: dict[str, Any]) -> list[dict[str, Any]]:
    if "messages" in case:
        return list(case["messages"])
    return [{"role": role, "content": text} for role, text in case["turns"]]  # regression set


def labels_of(case: dict[str, Any]) -> dict[str, Any]:
    return dict(case.get("labels") or case)  # the regression set keeps its labels at top level


def evaluate(cases: list[dict[str, Any]], analyzer: Analyzer) -> Scores:
    scores = Scores(size=len(cases))
    for case in cases:
        labels = labels_of(case)
        got: Analysis = analyzer.analyze(messages_of(case))
        sentiment_right = got.sentiment == labels["sentiment"]
        scores.sentiment[(labels["sentiment"], got.sentiment)] += 1
        scores.sentiment_by_confidence[(labels.get("confidence", "high"), sentiment_right)] += 1
        scores.task[(labels["taskCompleted"], got.task_completed)] += 1
        junk = [t for t in got.topics if is_junk(t)]
        scores.junk_topics += junk
        terms = labels.get("topicTerms", [])
        topics_right = not junk and any(topic_matches(t, terms) for t in got.topics[:TOPICS_SCORED])
        scores.topics_right += topics_right
        if not (sentiment_right and got.task_completed == labels["taskCompleted"]) or (
            terms and not topics_right
        ):
            scores.misses.append(
                f"{case['id']:<14} sentiment {labels['sentiment']}→{got.sentiment} "
                f"({got.sentiment_score:+.2f}), taskCompleted "
                f"{labels['taskCompleted']}→{got.task_completed}, topics {got.topics}"
            )
    return scores


def confusion_table(counts: Counter[tuple[Any, Any]], labels: tuple[Any, ...]) -> str:
    width = max(len(str(label)) for label in labels) + 2
    lines = ["labeled \\ predicted".ljust(20) + "".join(str(lb).rjust(width) for lb in labels)]
    for want in labels:
        row = "".join(str(counts[(want, got)]).rjust(width) for got in labels)
        lines.append(str(want).ljust(20) + row)
    return "\n".join(lines)


def report(half: str, scores: Scores, *, misses: bool, has_topics: bool = True) -> str:
    lines = [f"== {half} ({scores.size} conversations) =="]
    lines.append(f"  sentiment accuracy:     {scores.sentiment_accuracy:.1%}")
    for confidence in ("high", "low"):
        accuracy, total = scores.confidence_accuracy(confidence)
        if total:
            lines.append(f"    {confidence}-confidence labels: {accuracy:.1%} of {total}")
    lines.append(f"  taskCompleted accuracy: {scores.task_accuracy:.1%}")
    if has_topics:
        lines.append(f"  topics accuracy:        {scores.topics_accuracy:.1%}")
    lines.append(f"  junk topics:            {len(scores.junk_topics)} {scores.junk_topics}")
    lines.append("\n  sentiment  precision  recall")
    for label in SENTIMENTS:
        precision, recall = scores.precision_recall(label)
        lines.append(f"  {label:<9} {precision:>9.0%} {recall:>7.0%}")
    lines.append("")
    lines.append(confusion_table(scores.sentiment, SENTIMENTS))
    lines.append("\ntaskCompleted")
    lines.append(confusion_table(scores.task, (True, False)))
    if misses:
        lines.append(f"\nMisses ({len(scores.misses)}):")
        lines += [f"  {miss}" for miss in scores.misses]
    return "\n".join(lines)


def analyzer_named(name: str) -> Callable[[dict[str, Any]], Analyzer]:
    """A factory: case → analyzer (the Bedrock stub answers per case)."""
    if name == "bedrock":
        from bench.eval_insights_bedrock import bedrock_eval_analyzer

        return bedrock_eval_analyzer
    from shared.insights.local import LocalAnalyzer

    local = LocalAnalyzer()
    return lambda _case: local


class _PerCase:
    """Adapts a per-case analyzer factory to `evaluate`'s one-analyzer loop."""

    name = "per-case"

    def __init__(self, factory: Callable[[dict[str, Any]], Analyzer], cases: list[Any]) -> None:
        self._factory = factory
        self._cases = iter(cases)

    def analyze(self, messages: Messages) -> Analysis:
        return self._factory(next(self._cases)).analyze(messages)


def per_case(factory: Callable[[dict[str, Any]], Analyzer], cases: list[Any]) -> Analyzer:
    """One analyzer for `evaluate(cases, …)` that asks `factory` for each case's analyzer."""
    return _PerCase(factory, cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=(*HALVES, "regression"), action="append")
    parser.add_argument("--analyzer", choices=("local", "bedrock"), default="local")
    parser.add_argument("--misses", action="store_true", help="list misses (never on heldout)")
    args = parser.parse_args(argv)
    factory = analyzer_named(args.analyzer)
    print(f"Insights analyzer `{args.analyzer}` on bench/insights_eval/")
    for half in args.half or HALVES:
        cases = load_cases(half)
        scores = evaluate(cases, per_case(factory, cases))
        # The held-out half is reported in aggregate only: listing its misses invites tuning.
        print(
            "\n"
            + report(
                half,
                scores,
                misses=args.misses and half != "heldout",
                has_topics=half != "regression",
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
