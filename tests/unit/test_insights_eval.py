"""`make eval-insights`: the independent set is whole and well-formed, the scorer means what
docs/insights.md says, and the local analyzer keeps its figures on the tuning half (floors a little
under the measured ones, so a regression fails). The held-out half is never run here: its
figure is measured by `make eval-insights` alone, so no test result can tune against it."""

from __future__ import annotations

import pytest

from bench.eval_insights import (
    HALVES,
    analyzer_named,
    evaluate,
    is_junk,
    load_cases,
    normalize,
    per_case,
    topic_matches,
)


@pytest.mark.parametrize("half", HALVES)
def test_each_half_is_whole_and_labeled(half: str) -> None:
    cases = load_cases(half)
    assert len(cases) == 120
    assert len({case["id"] for case in cases}) == len(cases)
    assert {"en", "fr", "es", "de"} <= {case["language"] for case in cases}
    assert {case["kind"] for case in cases} == {"chat", "voice", "agent", "email"}
    labels = [case["labels"] for case in cases]
    assert {label["sentiment"] for label in labels} == {"positive", "neutral", "negative", "mixed"}
    assert {label["taskCompleted"] for label in labels} == {True, False}
    assert all(label["topicTerms"] and label["confidence"] in ("high", "low") for label in labels)


def test_the_halves_do_not_overlap() -> None:
    texts = [{case["messages"][0]["content"] for case in load_cases(half)} for half in HALVES]
    assert not texts[0] & texts[1]


def test_topic_matching_and_junk() -> None:
    assert normalize("Remboursements-Rapides") == "remboursement rapide"
    assert topic_matches("refund", ["refund request"])
    assert topic_matches("pdf export", ["PDF"])
    assert topic_matches("Rückerstattung", ["ruckerstattung"])
    assert not topic_matches("fund", ["refund"])  # whole words only
    for junk in ("time", "days", "today", "thanks", "great", "please", "the", "aujourd'hui",
                 "mañana", "Tage", "2024", "Bonjour"):  # fmt: skip
        assert is_junk(junk), junk
    for topic in ("delivery", "refund", "password reset", "delivery time"):
        assert not is_junk(topic), topic


def test_local_analyzer_keeps_its_figures_on_the_tuning_half() -> None:
    cases = load_cases("tune")
    scores = evaluate(cases, per_case(analyzer_named("local"), cases))
    assert scores.sentiment_accuracy >= 0.77
    assert scores.task_accuracy >= 0.92
    assert scores.topics_accuracy >= 0.93
    assert scores.junk_topics == []
    recalls = {label: scores.precision_recall(label)[1] for label in ("negative", "mixed")}
    assert recalls["negative"] >= 0.8, recalls
    assert recalls["mixed"] >= 0.55, recalls


def test_local_analyzer_keeps_the_old_regression_set() -> None:
    cases = load_cases("regression")  # the authors' own set: a regression check only
    scores = evaluate(cases, per_case(analyzer_named("local"), cases))
    assert scores.sentiment_accuracy >= 0.84
    assert scores.task_accuracy >= 0.85
    assert scores.junk_topics == []


def test_the_bedrock_path_loses_nothing_on_the_stubbed_transport() -> None:
    cases = load_cases("tune")[:12]
    scores = evaluate(cases, per_case(analyzer_named("bedrock"), cases))
    assert (scores.sentiment_accuracy, scores.task_accuracy) == (1.0, 1.0)
    assert scores.topics_accuracy == 1.0
    assert scores.size == sum(scores.sentiment.values()) == 12
