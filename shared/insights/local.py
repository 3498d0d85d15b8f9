"""The `local` analyzer: no network, fits a Lambda.

- Sentiment: VADER (a lexicon and rule model) scores every user and assistant turn; the
  conversation's score is a weighted mean leaning toward the end and toward the user (an
  assistant is polite whatever happens). `mixed` when the user swings from clearly negative to
  clearly positive or back. VADER knows English only: a small lexicon of common words in
  Spanish, French, German, Portuguese and Italian, and a few sarcasm phrases, extend it.
- Topics: YAKE keyphrases of what was said (statistical, language-aware stop words).
- Summary: extractive — what the user asked, what the assistant did, how it ended.
- taskCompleted: resolution and closing signals against failure signals near the end.
- Issues: unanswered question, repeated request, escalation, frustration, failed tool calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shared.insights.analysis import Analysis, AnalysisFailed, Messages, Sentiment

NAME = "local"
POSITIVE_AT = 0.2
NEGATIVE_AT = -0.2
SWING = 0.45  # a user turn at least this positive and another this negative: mixed
_USER_WEIGHT = 1.0
_ASSISTANT_WEIGHT = 0.25
_TOPICS = 5
_QUOTE_CHARS = 160
# Text bounds: VADER and YAKE grow faster than linearly with text length (a 100 KB turn took
# over a minute), so each turn is scored on its beginning and end, topics on a bounded sample.
_TURN_CHARS = 2_000
_TOPIC_CHARS = 20_000

# Words VADER's English lexicon lacks (valence on VADER's -4…4 scale).
_EXTRA_LEXICON = {
    # es
    "gracias": 2.0,
    "genial": 2.5,
    "perfecto": 2.5,
    "excelente": 3.0,
    "funciona": 1.5,
    "terrible": -2.5,
    "horrible": -2.5,
    "pésimo": -3.0,
    "inútil": -2.5,
    "molesto": -2.0,
    "enfadado": -2.5,
    "problema": -1.0,
    "error": -1.0,
    "nunca": -0.5,
    "resuelto": 2.0,
    # fr
    "merci": 2.0,
    "parfait": 2.5,
    "génial": 2.5,
    "super": 2.0,
    "nul": -2.5,
    "inacceptable": -3.0,
    "énervé": -2.5,
    "déçu": -2.5,
    "marche": 0.5,
    "résolu": 2.0,
    "problème": -1.0,
    # de
    "danke": 2.0,
    "perfekt": 2.5,
    "toll": 2.5,
    "prima": 2.0,
    "schrecklich": -2.5,
    "ärgerlich": -2.5,
    "enttäuscht": -2.5,
    "unmöglich": -2.0,
    "funktioniert": 1.0,
    "gelöst": 2.0,
    "leider": -1.0,
    "nicht": -0.3,
    "fehler": -1.5,
    # pt / it
    "obrigado": 2.0,
    "obrigada": 2.0,
    "ótimo": 2.5,
    "péssimo": -3.0,
    "grazie": 2.0,
    "perfetto": 2.5,
    "ottimo": 2.5,
    "pessimo": -3.0,
    "inutile": -2.5,
    "arrabbiato": -2.5,
    # English words a support chat uses negatively
    "unacceptable": -3.0,
    "ridiculous": -2.5,
    "refund": -0.3,
    "broken": -2.0,
    "still": -0.3,
    "waste": -2.0,
}
# Praise words used sarcastically: the turn is scored as negative instead.
_SARCASM = re.compile(
    r"\b(oh (great|wonderful|perfect|fantastic|lovely)|just what i needed|thanks for nothing|"
    r"yeah,? right|love (waiting|being on hold|it when)|what a (great|wonderful) (service|help)|"
    r"so helpful,? (not|really))\b",
    re.IGNORECASE,
)
_SARCASM_SCORE = -0.6

_RESOLVED = re.compile(
    r"\b(thanks?|thank you|thx|that (worked|works|helps|fixed it|did it)|it works|works now|"
    r"fixed|solved|resolved|perfect|great|awesome|got it|all set|appreciate|sounds good|"
    r"gracias|merci|danke|obrigad[oa]|grazie|funciona|ça marche|hat geklappt|funktioniert)\b",
    re.IGNORECASE,
)
_DONE = re.compile(
    r"\b(i'?ve (processed|issued|booked|sent|updated|reset|cancell?ed|refunded|scheduled|"
    r"created|fixed|added|changed)|has been (processed|issued|booked|sent|updated|reset|"
    r"cancell?ed|refunded|scheduled|created|fixed|shipped|applied)|is now (active|live|fixed|"
    r"working|booked|confirmed)|you'?re all set|confirmation (number|code))\b",
    re.IGNORECASE,
)
_FAILED = re.compile(
    r"\b(still (not|doesn'?t|isn'?t|broken|waiting|the same)|(doesn'?t|does not|didn'?t|did not|"
    r"isn'?t|is not) (work|help|fix)|not working|never mind|nevermind|forget it|give up|"
    r"useless|waste of time|cancel my|i'?ll go elsewhere|no (help|use)|unable to|"
    r"can'?t (help|do that|find)|not able to|unfortunately|still nothing|no funciona|ne marche pas|"
    r"funktioniert (nicht|immer noch nicht)|não funciona|non funziona)\b",
    re.IGNORECASE,
)
_ESCALATION = re.compile(
    r"\b(human|real person|manager|supervisor|speak to (someone|a person|an agent)|"
    r"escalat\w*|complaint|lawyer|chargeback)\b",
    re.IGNORECASE,
)
_REPEAT = re.compile(
    r"\b(again|already (said|told|asked|explained)|as i said|i repeat|for the \w+ time|"
    r"(asked|told you) (\w+ )?(twice|three times|\d+ times))\b",
    re.IGNORECASE,
)
# A short acknowledgment closing the conversation: the answer was taken.
_ACKNOWLEDGED = re.compile(
    r"^\W*(ok(ay)?|understood|fine|received|noted|i see|alright|cool|done)\b", re.IGNORECASE
)
_TOOL_ERROR = re.compile(r"\b(error|exception|failed|failure|timed? ?out|denied|invalid)\b", re.I)
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

# Stop-word hints for YAKE's language (its stop-word lists are per language).
_LANGUAGE_HINTS = {
    "es": {"el", "la", "de", "que", "y", "en", "los", "mi", "por", "una", "no", "es", "con"},
    "fr": {"le", "la", "les", "de", "et", "est", "je", "pas", "mon", "une", "des", "pour"},
    "de": {"der", "die", "das", "und", "ist", "ich", "nicht", "mein", "ein", "eine", "mit"},
    "pt": {"o", "a", "os", "de", "que", "e", "não", "meu", "uma", "para", "com", "está"},
    "it": {"il", "la", "di", "che", "e", "non", "mio", "una", "per", "con", "sono", "è"},
    "en": {"the", "a", "and", "is", "i", "to", "my", "it", "of", "for", "you", "not", "can"},
}


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


def turns_of(messages: Messages) -> list[Turn]:
    turns = []
    for message in messages:
        role = str(message.get("role", ""))
        text = str(message.get("content") or "").strip()
        if role == "tool" and not text:
            text = str(message.get("toolCalls") or "")
        if text:
            turns.append(Turn(role, text))
    return turns


def guess_language(text: str) -> str:
    words = [w.lower() for w in _WORD.findall(text)]
    hits = {lang: sum(w in hints for w in words) for lang, hints in _LANGUAGE_HINTS.items()}
    best = max(hits, key=lambda lang: hits[lang])
    return best if hits[best] else "en"


def _first_sentence(text: str) -> str:
    sentence = _SENTENCE_END.split(text.strip().replace("\n", " "), 1)[0]
    return sentence if len(sentence) <= _QUOTE_CHARS else sentence[: _QUOTE_CHARS - 1] + "…"


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


class LocalAnalyzer:
    name = NAME

    @cached_property
    def _vader(self) -> Any:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        vader = SentimentIntensityAnalyzer()
        vader.lexicon.update(_EXTRA_LEXICON)
        return vader

    def turn_score(self, text: str) -> float:
        text = _bounded(text, _TURN_CHARS)
        if _SARCASM.search(text):
            return _SARCASM_SCORE
        return float(self._vader.polarity_scores(text)["compound"])

    def analyze(self, messages: Messages) -> Analysis:
        turns = turns_of(messages)
        spoken = [t for t in turns if t.role in ("user", "assistant")]
        if not spoken:
            raise AnalysisFailed("The conversation has no user or assistant text to analyze")
        scores = [self.turn_score(t.text) for t in spoken]
        score = self._weighted_score(spoken, scores)
        user_scores = [s for t, s in zip(spoken, scores, strict=True) if t.role == "user"]
        sentiment = self._label(score, user_scores)
        return Analysis(
            sentiment=sentiment,
            sentiment_score=score,
            task_completed=self._task_completed(turns, user_scores),
            topics=self._topics(spoken),
            summary=self._summary(spoken),
            issues=self._issues(turns, user_scores),
        )

    # --- sentiment ------------------------------------------------------------------------

    @staticmethod
    def _weighted_score(spoken: list[Turn], scores: list[float]) -> float:
        total = weights = 0.0
        last = max(len(spoken) - 1, 1)
        for i, (turn, value) in enumerate(zip(spoken, scores, strict=True)):
            weight = (1.0 + i / last) * (_USER_WEIGHT if turn.role == "user" else _ASSISTANT_WEIGHT)
            total += weight * value
            weights += weight
        return total / weights

    @staticmethod
    def _label(score: float, user_scores: list[float]) -> Sentiment:
        if user_scores and max(user_scores) >= SWING and min(user_scores) <= -SWING:
            return "mixed"
        if score >= POSITIVE_AT:
            return "positive"
        if score <= NEGATIVE_AT:
            return "negative"
        return "neutral"

    # --- task completion ------------------------------------------------------------------

    @staticmethod
    def _task_completed(turns: list[Turn], user_scores: list[float]) -> bool:
        users = [t for t in turns if t.role == "user"]
        assistants = [t for t in turns if t.role == "assistant"]
        if not users or not assistants:
            return False
        if turns[-1].role == "user" and turns[-1].text.rstrip().endswith("?"):
            return False  # left waiting for an answer
        evidence = 0.0
        for turn in users[-2:]:
            if _FAILED.search(turn.text):
                evidence -= 2.0 if turn is users[-1] else 1.0
            if _RESOLVED.search(turn.text) and not _SARCASM.search(turn.text):
                evidence += 1.5 if turn is users[-1] else 0.5
            if turn is users[-1] and _ACKNOWLEDGED.search(turn.text):
                evidence += 0.5
        if _DONE.search(assistants[-1].text):
            evidence += 1.0
        if turns[-1].role == "assistant" and turns[-1].text.rstrip().endswith("?"):
            evidence -= 1.5  # the assistant is still waiting for the user's answer
        if _FAILED.search(assistants[-1].text):
            evidence -= 1.0
        if evidence == 0.0:  # no signal either way: how the user sounded at the end
            return user_scores[-1] >= 0 and turns[-1].role == "assistant"
        return evidence > 0

    # --- topics and summary ---------------------------------------------------------------

    @staticmethod
    def _topics(spoken: list[Turn]) -> list[str]:
        import yake

        text = _bounded("\n".join(t.text for t in spoken), _TOPIC_CHARS)
        extractor = yake.KeywordExtractor(
            lan=guess_language(text), n=2, top=_TOPICS * 2, dedupLim=0.7
        )
        topics: list[str] = []
        for phrase, _ in extractor.extract_keywords(text):
            topic = phrase.lower()
            if not any(topic in seen or seen in topic for seen in topics):
                topics.append(topic)
        return topics[:_TOPICS]

    @staticmethod
    def _summary(spoken: list[Turn]) -> str:
        users = [t for t in spoken if t.role == "user"]
        assistants = [t for t in spoken if t.role == "assistant"]
        parts = []
        if users:
            parts.append(f"The user asked: “{_first_sentence(users[0].text)}”")
        if assistants:
            # The assistant sentence most about what the user asked: what it did about it.
            asked = _words(" ".join(t.text for t in users))
            sentences = [s for t in assistants for s in _SENTENCE_END.split(t.text) if s.strip()]
            best = max(sentences, key=lambda s: len(_words(s) & asked) + 0.1 * len(_words(s)))
            parts.append(f"The assistant: “{_first_sentence(best)}”")
        last = spoken[-1]
        if len(spoken) > 2 or last.role == "user":
            parts.append(f"It ended with the {last.role}: “{_first_sentence(last.text)}”")
        return " ".join(part + "." for part in parts)

    # --- issues ---------------------------------------------------------------------------

    @staticmethod
    def _issues(turns: list[Turn], user_scores: list[float]) -> list[str]:
        users = [t for t in turns if t.role == "user"]
        issues = []
        if turns and turns[-1].role == "user" and "?" in turns[-1].text:
            issues.append("Unanswered question: the conversation ended on the user's question")
        if any(_REPEAT.search(t.text) for t in users) or _repeated(users):
            issues.append("Repeated request: the user had to ask again")
        if any(_ESCALATION.search(t.text) for t in users):
            issues.append("Escalation: the user asked for a human or threatened to escalate")
        if any(s <= -SWING for s in user_scores) or any(
            _SARCASM.search(t.text) or t.text.count("!") >= 3 for t in users
        ):
            issues.append("Frustration: the user expressed frustration")
        if any(t.role == "tool" and _TOOL_ERROR.search(t.text) for t in turns):
            issues.append("Tool failure: a tool call returned an error")
        return issues


def _bounded(text: str, limit: int) -> str:
    """`text`, or its beginning and end when longer than `limit`."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return text[:half] + "\n" + text[-half:]


def _repeated(users: list[Turn]) -> bool:
    """Two user turns saying nearly the same thing."""
    seen: list[set[str]] = []
    for turn in users:
        words = _words(turn.text)
        if len(words) >= 4 and any(len(words & w) / len(words | w) >= 0.6 for w in seen):
            return True
        seen.append(words)
    return False
