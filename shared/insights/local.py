"""The `local` analyzer: no network, fits a Lambda.

It judges the *customer* (the user's turns), the way a support lead reading the log would.
Sentiment and taskCompleted are decided by a small learned model (`model.py`, weights in
`model.npz`) from what the cue lists below read plus a few general signals, for conversations
where the user spoke often enough (3 turns for sentiment, 2 for taskCompleted); shorter ones
keep the cue lists' labels (`_decided`).
The cue lists:

- Sentiment: each user turn is scored from cue lists in English, French, Spanish, German (and
  common Italian/Portuguese words) — open anger, sarcasm and grudging praise ("oh wonderful",
  "thanks I guess"), giving up, having to ask again ("this is the third time I ask"), calm
  disappointment, warm thanks, an apology for one's own earlier tone — plus VADER's English
  lexicon on English turns. Plain politeness ("ok thanks", "merci") is not positive. The
  conversation is `mixed` when the user complained and later warmed up (or apologized for
  their tone) or was warm and then mildly let down, `negative` when their complaints add up to
  a full cue (complaints wrapped in politeness count), `positive` when warm without complaint,
  else `neutral`. The assistant's turns are ignored: an assistant is polite whatever happens.
- taskCompleted: from the ending — the user's confirmation or give-up, the assistant's or the
  tools' last outcome (done / could not / handed on), a question left unanswered.
- Topics: support topics found by a multilingual phrase list (`lexicon.TOPICS`, reported in
  English), ranked by how often the user raised them; YAKE keyphrases fill in for anything the
  list lacks, never a stop word, time word, politeness word or number.
- Summary: extractive — what the user asked, what the assistant did, how it ended.
- Issues: short phrases — unanswered question, repeated request, escalation, frustration,
  sarcasm, giving up, failed tool calls, a task left undone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.insights import lexicon
from shared.insights.analysis import Analysis, AnalysisFailed, Messages, Sentiment
from shared.insights.lexicon import word_set
from shared.stopwords import STOP_WORDS
from shared.textfold import fold

if TYPE_CHECKING:
    from shared.insights.model import Model, Observed

NAME = "local"
_TOPICS = 5
_QUOTE_CHARS = 160
# Text bounds: VADER and YAKE grow faster than linearly with text length (a 100 KB turn took
# over a minute), so each turn is scored on its beginning and end, topics on a bounded sample.
_TURN_CHARS = 2_000
_TOPIC_CHARS = 20_000
# Cue weights (a turn's complaint and warmth, in "cues").
_ANGER = 1.0
_SARCASM = 1.0
_GIVE_UP = 1.0
_REPEAT = 1.0
_STILL = 0.3
_MASKED = 0.6
_DISAPPOINTED = 0.5
_FAILED = 0.5  # "still not working", "thanks anyway"
_SHOUTING = 0.6  # several words in capitals, or "!!"/"??"
_VADER_AT = 0.5  # a VADER compound beyond ±this adds half a cue

_WORD = re.compile(r"\w+", re.UNICODE)
_CAPS_WORD = re.compile(r"\b[A-ZÄÖÜÉÈ]{3,}\b")
# Emoji (pictographs, symbols, dingbats) and the common emoticons: the same in every language,
# read by VADER's emoji lexicon.
_EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]|(?<!\w)[:;]-?[()DP](?!\w)")
# Words in capitals that shout (acronyms like SSO or PDF do not): folded.
_SHOUTED = word_set(
    """
    never always again still twice three third fourth every single nothing nobody not none
    hour hours day days week weeks month now today immediately urgent asap why what how stop
    fix refund cancel help wrong old all any real human please joke seriously
    jamais toujours encore rien personne pas maintenant urgent pourquoi tout
    nunca siempre otra vez nada nadie ahora urgente por que todo
    nie immer wieder nichts niemand nicht jetzt sofort dringend warum alles
    """
)
# Sentence ends; the Japanese full stop, ! and ? are followed by no space.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])")
_TOOL_ERROR = lexicon.TOOL_ERROR
_TOOL_OK = lexicon.TOOL_OK
_QUESTION = re.compile(r"[?\uff1f]\s*\W*$")  # "?" or the full-width one
# Kana and kanji: Japanese, written without spaces between words.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

# Stop-word hints to tell the language (YAKE's stop-word lists are per language).
_LANGUAGE_HINTS = {
    "es": {"el", "la", "de", "que", "y", "en", "los", "mi", "por", "una", "no", "es", "con"},
    "fr": {"le", "la", "les", "de", "et", "est", "je", "pas", "mon", "une", "des", "pour"},
    "de": {"der", "die", "das", "und", "ist", "ich", "nicht", "mein", "ein", "eine", "mit"},
    "pt": {"o", "a", "os", "de", "que", "e", "não", "meu", "uma", "para", "com", "está"},
    "it": {"il", "la", "di", "che", "e", "non", "mio", "una", "per", "con", "sono", "è"},
    "en": {"the", "a", "and", "is", "i", "to", "my", "it", "of", "for", "you", "not", "can"},
}
# Words that never make a topic on their own: every language's stop, time and politeness words
# (shared/stopwords.py, the clusters' list too), support-chat boilerplate, and YAKE's stop-word
# list for the conversation's language (in `_keyphrases`).
_NOT_TOPICS = STOP_WORDS | word_set(
    """
    issue issues problem problems question questions answer bot message subject fw aw null none
    true false reply replied send sent dollar dollars euro euros money bucks call called calling
    found find work works worked
    probleme problema pregunta frage
    """
)
# People's names never make a topic: one that follows a title, a greeting or "my name is" at
# the start of a line or sentence, or stands on the short lines under a sign-off ("Best,").
_NAME = r"([A-ZÀ-ÖØ-Þ][\w'\u2019-]+(?:[ \t]+[A-ZÀ-ÖØ-Þ][\w'\u2019-]+){0,2})"
_NAMED = re.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Mme|Mlle|Herr|Frau|Sr|Sra|Dott|Dott\.ssa|Sig|Sig\.ra|Prof)\.?[ \t]+"
    + _NAME
    + r"|(?:^|[.!?,][ \t]*)(?i:hi|hello|hey|dear|bonjour|salut|hola|hallo|liebe|lieber|"
    r"sehr geehrte|sehr geehrter|ciao|gentile|caro|cara|ol[áa]|oi|estimado|estimada|prezado|"
    r"prezada|my name is|it's|it is|this is|i'm|i am|je m'appelle|je suis|me llamo|soy|"
    r"ich bin|ich hei(?:ß|ss)e|mein name ist|mi chiamo|sono|meu nome [ée]|me chamo|sou)[ \t,]+"
    + _NAME,
    re.MULTILINE,
)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:best|best regards|kind regards|regards|thanks|thank you|many thanks|cheers|"
    r"sincerely|cordialement|bien (?:à|a) vous|bonne journ[ée]e|merci|saludos|un saludo|"
    r"atentamente|gracias|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|viele gr(?:ü|ue)(?:ß|ss)e|"
    r"gr(?:ü|ue)(?:ß|ss)e|lg|cordiali saluti|saluti|grazie|distinti saluti|atenciosamente|"
    r"obrigad[oa]|abra(?:ç|c)os)[ \t]*[,.!]?[ \t]*\n((?:[ \t]*\S[^\n]*\n?){1,2})",
    re.IGNORECASE | re.MULTILINE,
)
_CAPITALIZED = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w'\u2019-]+")
# Topics too general to lead when a more specific one was found.
_GENERAL_TOPICS = frozenset({"order", "billing", "mobile app", "error message", "app update"})


@dataclass(frozen=True)
class Thresholds:
    """Where the user's summed turn cues become the conversation's label. The defaults were
    checked by cross-validation between the tune half's two writers (`python -m
    bench.eval_insights --cross-validate`): chosen on either writer, they score the other."""

    complained_at: float = 1.0  # the user's complaints add up to this: not neutral
    warm_at: float = 1.0  # a turn this warm is pleased
    let_down_at: float = 1.5  # a pleased user let down this much is negative, not mixed


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


@dataclass(frozen=True)
class TurnCues:
    """What one user turn says about the customer's mood."""

    complaint: float
    warmth: float
    sarcasm: bool
    gave_up: bool
    repeated: bool
    angry: bool
    tone_apology: bool
    worked: bool
    failed: bool
    pending: bool
    vader: float | None = None  # VADER's compound on an English turn
    emoji: float | None = None  # VADER's compound on the turn's emoji and emoticons, if any


def turns_of(messages: Messages) -> list[Turn]:
    turns = []
    for message in messages:
        role = str(message.get("role", ""))
        text = str(message.get("content") or "").strip()
        if role == "tool" and not text:
            text = json.dumps(message.get("toolCalls") or [])
        if text:
            turns.append(Turn(role, text))
    return turns


def guess_language(text: str) -> str:
    if len(_UNSPACED.findall(text)) > len(text) / 10:
        return "ja"
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

    def __init__(self, thresholds: Thresholds | None = None, model: Model | bool = True) -> None:
        """`model`: True decides sentiment and taskCompleted with the committed weights
        (`model.npz`), False with the cue lists alone, a `Model` with that model (the
        evaluation's leave-one-writer-out cross-validation)."""
        self.thresholds = thresholds or Thresholds()
        self._given_model = model

    @cached_property
    def model(self) -> Model | None:
        if self._given_model is True:
            from shared.insights.model import Model  # numpy: only the insights layer has it

            return Model.load()
        return self._given_model or None

    @cached_property
    def _vader(self) -> Any:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        return SentimentIntensityAnalyzer()

    def turn_score(self, text: str) -> float:
        """One user turn's sentiment, -1 … 1 (cues first, VADER for the rest)."""
        cues = self.cues(text)
        return max(-1.0, min(1.0, 0.5 * (cues.warmth - cues.complaint)))

    def cues(self, text: str) -> TurnCues:
        text = _bounded(text, _TURN_CHARS)
        folded = fold(text)
        sarcasm = bool(lexicon.SARCASM.search(folded))
        angry = bool(lexicon.ANGER.search(folded))
        gave_up = bool(lexicon.GIVE_UP.search(folded))
        repeated = bool(lexicon.REPEAT.search(folded))
        failed = bool(lexicon.FAILED.search(folded))
        delighted = bool(lexicon.DELIGHT.search(folded)) and not sarcasm
        shouting = any(fold(w) in _SHOUTED for w in _CAPS_WORD.findall(text)) or (
            ("!!" in folded or "??" in folded) and not delighted  # "it works!!" is joy
        )
        complaint = (
            _ANGER * angry
            + _SARCASM * sarcasm
            + _GIVE_UP * gave_up
            + _REPEAT * repeated
            + _STILL * (not repeated and bool(lexicon.STILL.search(folded)))
            + _MASKED * bool(lexicon.MASKED.search(folded))
            + _DISAPPOINTED * bool(lexicon.DISAPPOINTED.search(folded))
            + _FAILED * failed
            + _SHOUTING * shouting
        )
        warmth = 1.0 * delighted
        # VADER's lexicon is English ("die" is -2.9 there, an article in German).
        english = guess_language(text) == "en"
        compound = float(self._vader.polarity_scores(text)["compound"]) if english else 0.0
        if compound <= -_VADER_AT:
            complaint += 0.5
        elif compound >= _VADER_AT and not sarcasm and not complaint:
            warmth += 0.5
        return TurnCues(
            complaint=complaint,
            warmth=warmth,
            sarcasm=sarcasm,
            gave_up=gave_up,
            repeated=repeated,
            angry=angry,
            tone_apology=bool(lexicon.TONE_APOLOGY.search(folded)),
            worked=bool(lexicon.WORKED.search(folded)),  # facts, even when said sarcastically
            failed=failed,
            pending=bool(lexicon.PENDING.search(folded)),
            vader=compound if english else None,
            emoji=self._emoji(text),
        )

    def _emoji(self, text: str) -> float | None:
        """VADER's compound on the turn's emoji and emoticons alone (any language), if any."""
        found = _EMOJI.findall(text)
        return float(self._vader.polarity_scores(" ".join(found))["compound"]) if found else None

    def user_cues(self, turns: list[Turn]) -> list[TurnCues]:
        return [self.cues(t.text) for t in turns if t.role == "user"]

    def analyze(self, messages: Messages) -> Analysis:
        turns = turns_of(messages)
        spoken = [t for t in turns if t.role in ("user", "assistant")]
        if not spoken:
            raise AnalysisFailed("The conversation has no user or assistant text to analyze")
        seen = self.observe(turns)
        sentiment, score, completed = seen.sentiment, seen.score, seen.completed
        if self.model is not None:  # the learned model decides; the cues are its evidence
            sentiment, completed = _decided(seen, *self.model.labels(seen))
            score = _score_within(sentiment, score)
        cues = seen.cues
        return Analysis(
            sentiment=sentiment,
            sentiment_score=score,
            task_completed=completed,
            topics=self._topics(spoken),
            summary=_summary(spoken),
            issues=_issues(turns, cues, completed),
        )

    def observe(self, turns: list[Turn]) -> Observed:
        """What the cue lists read from a conversation: their labels and the evidence the
        model's features are made of."""
        from shared.insights.model import Observed

        cues = self.user_cues(turns)
        sentiment, score = sentiment_of(cues, self.thresholds)
        tail = turns[-4:]
        spoken = [t for t in tail if t.role == "assistant"]
        folded = [fold(_bounded(t.text, _TURN_CHARS)) for t in spoken]
        last_assistant = next((t for t in reversed(turns) if t.role == "assistant"), None)
        return Observed(
            turns=turns,
            cues=cues,
            sentiment=sentiment,
            score=score,
            completed=_task_completed(turns, cues),
            tool_ok=sum(t.role == "tool" and bool(_TOOL_OK.search(t.text)) for t in tail),
            tool_error=sum(t.role == "tool" and bool(_TOOL_ERROR.search(t.text)) for t in tail),
            done=sum(bool(lexicon.DONE.search(f)) for f in folded),
            not_done=sum(bool(lexicon.NOT_DONE.search(f)) for f in folded),
            open_question_user=bool(turns)
            and turns[-1].role == "user"
            and bool(_QUESTION.search(turns[-1].text)),
            open_question_assistant=last_assistant is not None
            and bool(_QUESTION.search(last_assistant.text)),
        )

    # --- topics ---------------------------------------------------------------------------

    def _topics(self, spoken: list[Turn]) -> list[str]:
        found: dict[str, float] = {}
        for turn in spoken:
            weight = 2.0 if turn.role == "user" else 1.0
            folded = fold(_bounded(turn.text, _TURN_CHARS))
            for topic, pattern in _TOPIC_PATTERNS.items():
                hits = len(pattern.findall(folded))
                if hits:
                    general = 0.4 if topic in _GENERAL_TOPICS else 1.0
                    found[topic] = found.get(topic, 0.0) + weight * general * min(hits, 3)
        topics = sorted(found, key=lambda topic: -found[topic])[:_TOPICS]
        for phrase in self._keyphrases(spoken):
            if len(topics) >= _TOPICS:
                break
            if not any(phrase in seen or seen in phrase for seen in topics):
                topics.append(phrase)
        return topics

    def _topic_word(self, word: str) -> bool:
        """A word fit for a topic: no number, stop/time/politeness word or feeling ("wow")."""
        lexicon_valence = self._vader.lexicon.get(word, 0.0)
        return (
            word.isalpha()
            and len(word) > 2
            and word not in _NOT_TOPICS
            and _singular(word) not in _NOT_TOPICS
            and abs(lexicon_valence) < 1.0
        )

    def _keyphrases(self, spoken: list[Turn]) -> list[str]:
        """YAKE's keyphrases of the user's words, without stop/time/politeness words."""
        import yake

        text = _bounded("\n".join(t.text for t in spoken if t.role == "user"), _TOPIC_CHARS)
        language = guess_language(text)
        if language == "ja":
            return []  # YAKE splits on spaces: Japanese would come back as whole sentences
        extractor = yake.KeywordExtractor(lan=language, n=2, top=_TOPICS * 3, dedupLim=0.7)
        # YAKE's own stop-word list for the language (a public attribute; empty if it goes).
        stop = frozenset(fold(w) for w in getattr(extractor, "stopword_set", ()))
        names = _person_names(text)
        phrases = []
        for phrase, _ in extractor.extract_keywords(text):
            words = fold(phrase).split()
            if (
                all(self._topic_word(w) for w in words)
                and not all(w in stop for w in words)
                and not names.intersection(words)
            ):
                phrases.append(phrase.lower())
        return phrases


def sentiment_of(cues: list[TurnCues], limits: Thresholds) -> tuple[Sentiment, float]:
    """The customer's sentiment over the conversation, from their turns' cues."""
    if not cues:
        return "neutral", 0.0
    complaint = sum(c.complaint for c in cues)
    warmth = max(c.warmth for c in cues)
    first_complaint = next((i for i, c in enumerate(cues) if c.complaint >= 0.5), len(cues))
    warm_after = any(c.warmth >= limits.warm_at for c in cues[first_complaint + 1 :])
    warm_before = any(c.warmth >= limits.warm_at for c in cues[:first_complaint])
    soured_end = cues[-1].sarcasm or cues[-1].gave_up or cues[-1].angry
    score = max(-1.0, min(1.0, 0.4 * warmth - 0.3 * complaint))
    label: Sentiment = "neutral"
    if any(c.tone_apology for c in cues):
        label = "mixed"
    elif complaint >= limits.complained_at and warm_after and not soured_end:
        label = "mixed"  # complained, then was pleased
    elif warm_before and 0.5 <= complaint < limits.let_down_at and not warm_after:
        label = "mixed"  # pleased, then (mildly) let down
    elif complaint >= limits.complained_at:
        label = "negative"
    elif warmth >= limits.warm_at and complaint < 0.5:
        label = "positive"
    return label, _score_within(label, score)


# The model decides sentiment from this many user turns on, taskCompleted from this many
# (docs/insights.md, "The decision rule", has the figures behind each).
_MODEL_SENTIMENT_FROM = 3
_MODEL_TASK_FROM = 2


def _decided(seen: Observed, sentiment: Sentiment, completed: bool) -> tuple[Sentiment, bool]:
    """The labels of the model (`sentiment`, `completed`) or of the cue lists (in `seen`).

    The model decides sentiment where the user spoke `_MODEL_SENTIMENT_FROM` times or more,
    taskCompleted from `_MODEL_TASK_FROM`: a shorter conversation gives the features
    (averages over the user's turns, the ending) little to read, and the cue lists read its
    few phrases better. Two rules no tuning conversation contradicts hold either way: an
    apology for one's own tone is `mixed` (18 of 18 such conversations of the six writers),
    and a conversation that ends on the user's question is not completed (no tuning
    conversation ends so, so the model cannot learn it; the issues say so too)."""
    if len(seen.cues) < _MODEL_SENTIMENT_FROM:
        sentiment = seen.sentiment
    if len(seen.cues) < _MODEL_TASK_FROM:
        completed = seen.completed
    if any(c.tone_apology for c in seen.cues):
        sentiment = "mixed"
    if seen.open_question_user:
        completed = False
    return sentiment, completed


def _score_within(sentiment: Sentiment, score: float) -> float:
    """A score moved into its label's range (the model's label keeps the cues' score)."""
    if sentiment == "positive":
        return max(score, 0.2)
    if sentiment == "negative":
        return min(score, -0.2)
    if sentiment == "mixed":
        return max(-0.3, min(0.3, score))
    return max(-0.19, min(0.19, score))


# --- task completion ----------------------------------------------------------------------


def _task_completed(turns: list[Turn], cues: list[TurnCues]) -> bool:
    users = [t for t in turns if t.role == "user"]
    assistants = [t for t in turns if t.role == "assistant" and t.text.strip()]
    if not users or not assistants:
        return False
    last = turns[-1]
    if last.role == "user" and _QUESTION.search(last.text):
        return False  # left waiting for an answer
    evidence = 0.0
    for i, cue in enumerate(cues[-2:]):
        latest = i == len(cues[-2:]) - 1
        if cue.gave_up:
            evidence -= 3.0
        elif cue.failed:
            evidence -= 2.0 if latest else 1.0
        if cue.worked:
            evidence += 2.0 if latest else 1.0
        elif latest and cue.pending:
            evidence -= 1.5
        elif latest and (cue.sarcasm or cue.angry) and not any(c.worked for c in cues[-2:]):
            evidence -= 1.0  # left sour, with nothing working to show for it
    tail = [t for t in turns[-4:] if t.role in ("assistant", "tool")]
    for turn in tail:
        folded = fold(_bounded(turn.text, _TURN_CHARS))
        if turn.role == "tool":
            evidence += 0.5 if _TOOL_OK.search(turn.text) else 0.0
            evidence -= 1.0 if _TOOL_ERROR.search(turn.text) else 0.0
            continue
        if lexicon.DONE.search(folded):
            evidence += 1.0
        if lexicon.NOT_DONE.search(folded):
            evidence -= 1.5  # "done X, but cannot do Y": the request was Y
    final_assistant = assistants[-1].text
    if last.role == "assistant" and _QUESTION.search(final_assistant):
        evidence -= 1.0  # the assistant is still waiting for the user's answer
    # Nothing said either way: the assistant answered and the user left content.
    return evidence >= 0


# --- summary and issues -------------------------------------------------------------------


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


def _issues(turns: list[Turn], cues: list[TurnCues], completed: bool) -> list[str]:
    users = [t for t in turns if t.role == "user"]
    issues = []
    if turns and turns[-1].role == "user" and _QUESTION.search(turns[-1].text):
        issues.append("Unanswered question: the conversation ended on the user's question")
    if any(c.repeated for c in cues) or _repeated(users):
        issues.append("Repeated request: the user had to ask again")
    if any(_ESCALATION.search(fold(t.text)) for t in users):
        issues.append("Escalation: the user asked for a human or threatened to escalate")
    if any(c.angry or c.complaint >= 1.5 for c in cues):
        issues.append("Frustration: the user expressed frustration")
    if any(c.sarcasm for c in cues):
        issues.append("Sarcasm: the user complained through sarcasm")
    if any(c.gave_up for c in cues):
        issues.append("Gave up: the user abandoned the request")
    if any(t.role == "tool" and _TOOL_ERROR.search(t.text) for t in turns):
        issues.append("Tool failure: a tool call returned an error")
    if not completed:
        issues.append("Not completed: the user's request was not fulfilled")
    return issues


_ESCALATION = re.compile(
    r"\b(human|real person|manager|supervisor|speak to (someone|a person|an agent)|"
    r"escalat\w*|complaint|lawyer|chargeback|dispute|un humain|une personne|conseiller|"
    r"responsable|una persona|un humano|supervisor|einen menschen|mitarbeiter|vorgesetzt\w*|"
    r"beschwerde|anwalt|reclamacion|plainte)\b|"
    + "|".join(re.escape(fold(word)) for word in ["上司", "責任者", "人間", "オペレーター"])
)


def _topic_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """Phrases as whole words (a trailing `*`: any ending; else an optional plural `s`);
    Japanese phrases anywhere, as Japanese has no spaces between words."""
    parts, unspaced = [], []
    for phrase in phrases:
        if _UNSPACED.search(phrase):
            unspaced.append(re.escape(fold(phrase)))
            continue
        body = re.escape(phrase.rstrip("*")).replace(r"\ ", r"[\s-]+")
        parts.append(body + (r"\w*" if phrase.endswith("*") else r"s?"))
    whole_words = r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)"
    return re.compile("|".join([whole_words, *unspaced]))


_TOPIC_PATTERNS = {topic: _topic_pattern(phrases) for topic, phrases in lexicon.TOPICS.items()}


def _person_names(text: str) -> set[str]:
    """The folded words of the people named in `text` (`_NAMED`, `_SIGN_OFF`)."""
    names: set[str] = set()
    for match in _NAMED.finditer(text):
        names.update(fold(match.group(match.lastindex or 0)).split())
    for match in _SIGN_OFF.finditer(text):  # a signature line is short: a name, a company
        for line in match.group(1).splitlines():
            if len(line.split()) <= 4:
                names.update(fold(word) for word in _CAPITALIZED.findall(line))
    return names


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


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
