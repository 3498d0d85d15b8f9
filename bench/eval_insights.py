"""`make eval-insights`: an insights analyzer against the independent labeled set.

bench/insights_eval/ (its README) holds conversations written and labeled by people who never
saw the analyzer, in two halves:

- the **tune half** (`tune`): `tune.jsonl` (writer/labeler pair A), then `tune_<letter>.jsonl`
  for each later pair in `WRITER_LETTERS`, each but A once a held-out half. Tune and train on
  it freely; each writer's part (`tune_a`, `tune_b`, …) is also reported alone.
- the **held-out half** (`heldout.jsonl`, whatever its ids): written and labeled blind by other
  helpers, the reported figure; never read item by item, never tuned on. When the file is
  absent the run says so and reports the tune half alone.

The tune half and the held-out half are printed side by side: sentiment accuracy with its
low/high-confidence split, per-class precision/recall and the confusion matrix, taskCompleted
accuracy, topics accuracy and the junk-topic count. The local analyzer's model is trained on
the tune half, so its tune figures are in-sample; the default run then prints its
**leave-one-writer-out** figures (trained on the other writers, scored on one, each rotation),
which estimate a new writer. `regression.jsonl` is the old set the analyzer's own authors
wrote: `--half regression` runs it as a regression check, never reported as accuracy.

    python -m bench.eval_insights                         # tune (each writer, all), held-out, LOWO
    python -m bench.eval_insights --half tune_b --misses  # one writer's half, every miss
    python -m bench.eval_insights --analyzer bedrock      # the Bedrock path, stubbed transport
    python -m bench.eval_insights --cross-validate        # thresholds: one writer → the other
    python -m bench.eval_insights --leave-one-writer-out  # the model's LOWO figures alone

Topics accuracy: a conversation's topics are right when at least one of the analyzer's first
`TOPICS_SCORED` topics matches one of its labeled `topicTerms` (after normalization: lowercase,
accents and punctuation dropped, a plural `s` dropped; a match is equality or one phrase
containing the other as whole words, or as a substring in Japanese, written without spaces)
and none of its topics is junk. Junk: a topic made only of stop words, time words ("time",
"days", "today"), politeness words ("thanks", "great"), numbers or single letters — in any of
the set's languages (Japanese included: its words are matched as written, a Japanese topic
being one unspaced word). The junk list here is the evaluation's own, separate from the
analyzer's filter, so the check is not circular.
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
from shared.insights.local import Thresholds

DATA = Path(__file__).with_name("insights_eval")
# The writer/labeler pairs of the tune half, in the order written; a reported held-out half
# joins with the next letter. Pair A's file is `tune.jsonl`, every later pair's `tune_<letter>`.
WRITER_LETTERS = "abcdefghijklmnopqr"
TUNE_FILES = tuple("tune.jsonl" if w == "a" else f"tune_{w}.jsonl" for w in WRITER_LETTERS)
# One writer/labeler pair's conversations each (the held-out half's ids say nothing here).
TUNE_WRITERS = tuple(f"tune_{w}" for w in WRITER_LETTERS)
# Each half, or one writer's part of it, and its files.
HALVES: dict[str, tuple[str, ...]] = {
    **{writer: (name,) for writer, name in zip(TUNE_WRITERS, TUNE_FILES, strict=True)},
    "tune": TUNE_FILES,
    "heldout": ("heldout.jsonl",),
    "regression": ("regression.jsonl",),
}
REPORTED = (*TUNE_WRITERS, "tune", "heldout")  # the summary's columns
SIDE_BY_SIDE = ("tune", "heldout")  # the detailed tables
HELDOUT_ABSENT = (
    "bench/insights_eval/heldout.jsonl is absent: no held-out figures. The held-out half is "
    "written and labeled blind by people who never saw the analyzer, and added after tuning; "
    "until then the leave-one-writer-out figures below are the estimate for a new writer."
)
TOPICS_SCORED = 3
IN_SAMPLE = (
    "The local analyzer's model was trained on the tune writers' conversations: their figures "
    "above are in-sample. The leave-one-writer-out figures estimate a writer it never saw."
)

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
# Japanese is written without spaces: a topic is junk when it is one of these as a whole.
_JUNK_JAPANESE = word_set(
    """
    時間 今日 明日 昨日 日 週 月 年 毎日 今週 先週 来週 今月 先月 分 秒 今 後で
    ありがとう ありがとうございます ありがとうございました どうも お願いします よろしく
    よろしくお願いします すみません 申し訳ありません こんにちは こんばんは はい いいえ
    これ それ あれ こと もの 問題 質問 大丈夫 了解 承知しました
    """
)


def _plain_words(phrase: str) -> list[str]:
    """Lowercase words (letters and digits of any script), accents and punctuation dropped."""
    plain = unicodedata.normalize("NFKD", phrase.lower())
    return re.findall(r"[^\W_]+", "".join(c for c in plain if not unicodedata.combining(c)))


_JUNK = frozenset(w for word in _JUNK_WORDS | _JUNK_JAPANESE for w in _plain_words(word))


def normalize(phrase: str) -> str:
    """Lowercase, accents and punctuation dropped, a plural `s` dropped from each word."""
    words = _plain_words(phrase)
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words)


def is_junk(topic: str) -> bool:
    words = _plain_words(topic)
    return not words or all(
        w in _JUNK or w.isdigit() or (len(w) < 2 and w.isascii()) for w in words
    )


_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")  # kana and kanji: no word spaces


def _contains(longer: str, shorter: str) -> bool:
    if _UNSPACED.search(shorter):
        return shorter in longer  # "返金" is in "返金手続き"
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


def combined(*parts: Scores | None) -> Scores:
    """One half's scores from its parts' (each conversation is scored once)."""
    total = Scores()
    for part in parts:
        assert part is not None
        total.size += part.size
        total.sentiment += part.sentiment
        total.sentiment_by_confidence += part.sentiment_by_confidence
        total.task += part.task
        total.topics_right += part.topics_right
        total.junk_topics += part.junk_topics
        total.misses += part.misses
    return total


def available(half: str) -> bool:
    return all((DATA / name).is_file() for name in HALVES[half])


def load_cases(half: str) -> list[dict[str, Any]]:
    cases = []
    for name in HALVES[half]:
        lines = (DATA / name).read_text().splitlines()
        cases += [json.loads(line) for line in lines if line.strip()]
    return cases


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


def confusion_table(counts: Counter[tuple[Any, Any]], labels: tuple[Any, ...]) -> list[str]:
    width = max(len(str(label)) for label in labels) + 2
    lines = ["labeled \\ predicted".ljust(20) + "".join(str(lb).rjust(width) for lb in labels)]
    for want in labels:
        row = "".join(str(counts[(want, got)]).rjust(width) for got in labels)
        lines.append(str(want).ljust(20) + row)
    return lines


def _figures(scores: Scores, *, has_topics: bool) -> list[tuple[str, str]]:
    """(name, value) rows of one half's headline figures."""
    rows = [("conversations", str(scores.size))]
    rows.append(("sentiment", f"{scores.sentiment_accuracy:.1%}"))
    for confidence in ("high", "low"):
        accuracy, total = scores.confidence_accuracy(confidence)
        value = f"{accuracy:.1%} of {total}" if total else "-"
        rows.append((f"  {confidence}-confidence labels", value))
    rows.append(("taskCompleted", f"{scores.task_accuracy:.1%}"))
    rows.append(("topics", f"{scores.topics_accuracy:.1%}" if has_topics else "-"))
    rows.append(("junk topics", str(len(scores.junk_topics))))
    return rows


def _detail(scores: Scores) -> list[str]:
    """One half's per-class precision/recall and confusion matrices, as lines."""
    lines = ["sentiment  precision  recall"]
    for label in SENTIMENTS:
        precision, recall = scores.precision_recall(label)
        lines.append(f"{label:<9} {precision:>9.0%} {recall:>7.0%}")
    lines += ["", *confusion_table(scores.sentiment, SENTIMENTS), "", "taskCompleted"]
    lines += confusion_table(scores.task, (True, False))
    if scores.junk_topics:
        lines += ["", f"junk: {', '.join(scores.junk_topics)}"]
    return lines


def _columns(blocks: list[list[str]], gap: int = 4) -> list[str]:
    """Blocks of lines printed next to each other."""
    widths = [max((len(line) for line in block), default=0) + gap for block in blocks]
    height = max(len(block) for block in blocks)
    return [
        "".join(
            (block[i] if i < len(block) else "").ljust(width)
            for block, width in zip(blocks, widths, strict=True)
        ).rstrip()
        for i in range(height)
    ]


def report(results: dict[str, Scores | None], *, has_topics: bool = True) -> str:
    """The halves' figures side by side (a half that is absent is said so), then the tune and
    held-out halves' per-class tables side by side."""
    names = list(results)
    rows = ["figure".ljust(30) + "".join(name.rjust(16) for name in names)]
    template = _figures(Scores(size=1), has_topics=has_topics)
    per_half = {
        name: dict(_figures(scores, has_topics=has_topics)) if scores else {}
        for name, scores in results.items()
    }
    for label, _ in template:
        values = [per_half[name].get(label, "absent") for name in names]
        rows.append(label.ljust(30) + "".join(v.rjust(16) for v in values))
    detailed = [name for name in SIDE_BY_SIDE if results.get(name)] or names
    blocks = [
        [f"-- {name} --", *_detail(scores)]
        for name in detailed
        if (scores := results.get(name)) is not None
    ]
    lines = [*rows, ""]
    lines += _columns(blocks)
    return "\n".join(lines)


def misses_of(half: str, scores: Scores) -> str:
    lines = [f"Misses in {half} ({len(scores.misses)}):"]
    return "\n".join(lines + [f"  {miss}" for miss in scores.misses])


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


# The local analyzer's label thresholds tried by `--cross-validate` (the defaults among them).
_GRID = {
    "complained_at": (0.5, 0.75, 1.0, 1.25, 1.5, 2.0),
    "warm_at": (0.5, 1.0, 1.5),
    "let_down_at": (1.0, 1.5, 2.0),
}


def cross_validate() -> str:
    """Choose the local analyzer's label thresholds on one writer's part of the tune half and
    score them on the other's, both ways: how well a choice made on one writer's conversations
    carries to a writer it never saw. Turn cues are computed once; only the labels vary."""
    from itertools import product

    from shared.insights.local import LocalAnalyzer, sentiment_of, turns_of

    analyzer = LocalAnalyzer()
    parts = {
        half: [
            (analyzer.user_cues(turns_of(messages_of(case))), str(labels_of(case)["sentiment"]))
            for case in load_cases(half)
        ]
        for half in ("tune_a", "tune_b")
    }

    def accuracy(half: str, limits: Thresholds) -> float:
        rows = parts[half]
        return sum(sentiment_of(cues, limits)[0] == want for cues, want in rows) / len(rows)

    grid = [Thresholds(*values) for values in product(*_GRID.values())]
    default = Thresholds()
    lines = [
        "Cross-validation of the sentiment thresholds between the tune half's writers",
        f"  defaults {_shown(default)}: tune_a {accuracy('tune_a', default):.1%}, "
        f"tune_b {accuracy('tune_b', default):.1%}",
    ]
    for chosen_on, checked_on in (("tune_a", "tune_b"), ("tune_b", "tune_a")):
        # The best on one writer; among equals, the one nearest the defaults.
        best = max(grid, key=lambda t: (accuracy(chosen_on, t), -_distance(t, default)))
        lines.append(
            f"  chosen on {chosen_on} {_shown(best)}: {chosen_on} "
            f"{accuracy(chosen_on, best):.1%}, {checked_on} (unseen) "
            f"{accuracy(checked_on, best):.1%}"
        )
    return "\n".join(lines)


def leave_one_writer_out() -> str:
    """Leave-one-writer-out cross-validation of the local analyzer's model: for each tune
    writer, the model is trained (`bench.train_insights`, the chosen settings) on the other
    writers' conversations and the analyzer is scored on this one's, so every figure is on a
    writer the model never saw. The cue lists alone are scored beside it; they were drawn by
    reading A's and B's conversations, so only their tune_c and tune_d figures are on writers
    they never saw."""
    from bench.train_insights import train, writer_of
    from shared.insights.local import LocalAnalyzer

    if not all(available(writer) for writer in TUNE_WRITERS):
        return f"Leave-one-writer-out: needs every tune writer ({', '.join(TUNE_WRITERS)})"
    cases = {writer: load_cases(writer) for writer in TUNE_WRITERS}
    writers = {writer: writer_of(cases[writer]) for writer in TUNE_WRITERS}
    cue_lists = LocalAnalyzer(model=False)
    results: dict[str, dict[str, Scores]] = {"model": {}, "cue lists": {}}
    for held in TUNE_WRITERS:
        model = train([writers[other] for other in TUNE_WRITERS if other != held])
        results["model"][held] = evaluate(cases[held], LocalAnalyzer(model=model))
        results["cue lists"][held] = evaluate(cases[held], cue_lists)
    return lowo_table(results)


def lowo_table(results: dict[str, dict[str, Scores]]) -> str:
    """Per analyzer, its figures on each unseen writer and their mean."""
    writers = list(next(iter(results.values())))
    lines = [
        "Leave-one-writer-out: each writer scored by a model trained on the others "
        "(cue lists: drawn from tune_a and tune_b, so unseen only on tune_c and tune_d)",
        "analyzer   figure".ljust(27)
        + "".join(f"{writer} unseen".rjust(16) for writer in writers)
        + "mean".rjust(10),
    ]
    figures: tuple[tuple[str, Callable[[Scores], float]], ...] = (
        ("sentiment", lambda scores: scores.sentiment_accuracy),
        ("taskCompleted", lambda scores: scores.task_accuracy),
        ("topics", lambda scores: scores.topics_accuracy),
    )
    for name, per_writer in results.items():
        for label, figure in figures:
            values = [figure(per_writer[writer]) for writer in writers]
            lines.append(
                f"{name:<11}{label}".ljust(27)
                + "".join(f"{value:.1%}".rjust(16) for value in values)
                + f"{sum(values) / len(values):.1%}".rjust(10)
            )
    return "\n".join(lines)


def _shown(limits: Thresholds) -> str:
    return (
        f"(complained_at {limits.complained_at}, warm_at {limits.warm_at}, "
        f"let_down_at {limits.let_down_at})"
    )


def _distance(limits: Thresholds, default: Thresholds) -> float:
    return sum(abs(float(getattr(limits, key)) - float(getattr(default, key))) for key in _GRID)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=tuple(HALVES), action="append")
    parser.add_argument("--analyzer", choices=("local", "bedrock"), default="local")
    parser.add_argument("--misses", action="store_true", help="list misses (never on heldout)")
    parser.add_argument(
        "--cross-validate",
        action="store_true",
        help="choose the local analyzer's thresholds on one writer, score them on the other",
    )
    parser.add_argument(
        "--leave-one-writer-out",
        action="store_true",
        help="only the model's leave-one-writer-out figures (train on the other writers, score "
        "one, each rotation); the default run prints them after the halves",
    )
    args = parser.parse_args(argv)
    if args.cross_validate:
        print(cross_validate())
        return 0
    if args.leave_one_writer_out:
        print(leave_one_writer_out())
        return 0
    factory = analyzer_named(args.analyzer)
    print(f"Insights analyzer `{args.analyzer}` on bench/insights_eval/\n")
    halves = args.half or REPORTED
    parts = set(TUNE_WRITERS) <= set(halves)
    results: dict[str, Scores | None] = {}
    for half in halves:
        if not available(half):
            print(HELDOUT_ABSENT if half == "heldout" else f"{half}: absent", end="\n\n")
            results[half] = None
        elif half == "tune" and parts:  # the writers' parts, already scored
            results[half] = combined(*(results[writer] for writer in TUNE_WRITERS))
        else:
            cases = load_cases(half)
            results[half] = evaluate(cases, per_case(factory, cases))
    print(report(results, has_topics="regression" not in halves))
    if args.analyzer == "local" and not args.half:
        print(f"\n{IN_SAMPLE}\n\n{leave_one_writer_out()}")
    if args.misses:
        for half, scores in results.items():
            # The held-out half is reported in aggregate only: listing its misses invites tuning.
            if scores and half != "heldout" and not (half == "tune" and parts):
                print("\n" + misses_of(half, scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
