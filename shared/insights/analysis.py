"""The analyzer interface: a conversation's messages in, one `Analysis` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Sentiment = Literal["positive", "neutral", "negative", "mixed"]
SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative", "mixed")


class AnalysisFailed(Exception):
    """The conversation cannot be analyzed (retrying will not help): recorded as `failed`."""


class AnalysisUnavailable(Exception):
    """The analyzer could not answer just now (throttled, timed out): retry the record."""


@dataclass(frozen=True)
class Analysis:
    sentiment: Sentiment
    sentiment_score: float  # -1 … 1
    task_completed: bool
    topics: list[str]
    summary: str
    issues: list[str]

    def insights(self, created_at: str, analyzer: str) -> dict[str, Any]:
        """The stored form (the insights `GET /api/v1/conversations/{id}/insights` answers,
        plus which analyzer produced them)."""
        return {
            "sentiment": self.sentiment,
            "sentimentScore": round(max(-1.0, min(1.0, self.sentiment_score)), 3),
            "taskCompleted": self.task_completed,
            "topics": self.topics,
            "summary": self.summary,
            "issues": self.issues,
            "createdAt": created_at,
            "analyzer": analyzer,
        }


Messages = Sequence[Mapping[str, Any]]


class Analyzer(Protocol):
    name: str

    def analyze(self, messages: Messages) -> Analysis:
        """Raises AnalysisFailed (permanent) or AnalysisUnavailable (retry later)."""
        ...
