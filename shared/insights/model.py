"""The local analyzer's learned part: two small logistic regressions (numpy only) that decide a
conversation's sentiment and taskCompleted from a few dozen features meant to carry across
writers and languages, where the cue lists alone learned their writers' style.

Features come in named groups (`GROUPS`); each regression uses the groups chosen for it by
leave-one-writer-out cross-validation (`python -m bench.train_insights --select`):

- `rules`: the cue lists' own verdict (sentiment one-hot, score, taskCompleted);
- `cues`: their cue counts per family over all the user's turns, the first and the last one;
- `vader`: VADER's compound on the user's English turns (first, last, lowest, highest, mean);
- `emoji`: VADER's compound on the user's emoji and emoticons alone, in any language;
- `ending`: who spoke last, a question left open by either side, the tools' and the
  assistant's last outcomes (done / could not), how many turns, a final "!";
- `assistant`: how often the assistant apologized or acknowledged trouble, and said it could
  not do something (an assistant apologizes to an unhappy customer whatever words they used);
- `shape`: the user's style — turn length, questions, exclamation marks, negations, words
  in capitals, curt "ok"/"fine" replies.

Word n-grams were tried and left out: cross-validation across writers showed no gain from
them (they learn a writer's vocabulary). The weights are trained by `python -m
bench.train_insights` on the evaluation set's tune half and committed as `model.npz` next to
this file, in numpy's own format (loaded without pickle). docs/insights.md has the figures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shared.insights import lexicon
from shared.insights.analysis import SENTIMENTS, Sentiment
from shared.textfold import fold

if TYPE_CHECKING:
    from shared.insights.local import Turn, TurnCues

Vector = npt.NDArray[np.float64]
WEIGHTS = Path(__file__).with_name("model.npz")
HEADS = ("sentiment", "task")
TASK_CLASSES = ("True", "False")
_CUE_FLAGS = ("sarcasm", "gave_up", "repeated", "angry", "tone_apology", "worked", "failed",
              "pending")  # fmt: skip
_TEXT_CHARS = 4_000  # of each turn, read for the style features
_CAPITALS = re.compile(r"\b[A-Z]{3,}\b")


@dataclass(frozen=True)
class Observed:
    """What the rules already read from a conversation, handed to `features`."""

    turns: list[Turn]
    cues: list[TurnCues]  # per user turn
    sentiment: Sentiment
    score: float
    completed: bool
    tool_ok: int  # in the last turns: tool results that succeeded …
    tool_error: int  # … or failed
    done: int  # the assistant's last turns saying it was done …
    not_done: int  # … or that it could not
    open_question_user: bool
    open_question_assistant: bool


def _rules(seen: Observed) -> list[float]:
    return [
        *(float(seen.sentiment == label) for label in SENTIMENTS),
        seen.score,
        float(seen.completed),
    ]


def _flags(cues: list[TurnCues]) -> list[float]:
    if not cues:
        return [0.0] * (2 + len(_CUE_FLAGS))
    return [
        sum(c.complaint for c in cues),
        max(c.warmth for c in cues),
        *(float(sum(getattr(c, flag) for c in cues)) for flag in _CUE_FLAGS),
    ]


def _cues(seen: Observed) -> list[float]:
    return [*_flags(seen.cues), *_flags(seen.cues[:1]), *_flags(seen.cues[-1:])]


def _vader(seen: Observed) -> list[float]:
    english = [c.vader for c in seen.cues if c.vader is not None]
    if not english:
        return [0.0] * 6
    return [1.0, english[0], english[-1], min(english), max(english), sum(english) / len(english)]


def _emoji(seen: Observed) -> list[float]:
    """The user's emoji and emoticons, read by VADER's emoji lexicon (the same in every
    language): whether there were any, the lowest, the highest, the last turn's."""
    read = [c.emoji for c in seen.cues if c.emoji is not None]
    if not read:
        return [0.0] * 4
    last = seen.cues[-1].emoji
    return [1.0, min(read), max(read), last or 0.0]


def _ending(seen: Observed) -> list[float]:
    users = [t for t in seen.turns if t.role == "user"]
    last_role = seen.turns[-1].role if seen.turns else ""
    return [
        float(last_role == "user"),
        float(last_role == "assistant"),
        float(last_role == "tool"),
        float(seen.open_question_user),
        float(seen.open_question_assistant),
        float(min(seen.tool_ok, 3)),
        float(min(seen.tool_error, 3)),
        float(min(seen.done, 3)),
        float(min(seen.not_done, 3)),
        math.log1p(len(users)),
        math.log1p(len(seen.turns)),
        float("!" in users[-1].text) if users else 0.0,
    ]


def _texts(seen: Observed, role: str) -> list[str]:
    return [t.text[:_TEXT_CHARS] for t in seen.turns if t.role == role]


def _assistant(seen: Observed) -> list[float]:
    said = [fold(text) for text in _texts(seen, "assistant")]
    if not said:
        return [0.0] * 4
    apologies = [bool(lexicon.ASSISTANT_APOLOGY.search(text)) for text in said]
    return [
        sum(apologies) / len(said),
        float(any(apologies)),
        float(apologies[-1]),
        sum(bool(lexicon.NOT_DONE.search(text)) for text in said) / len(said),
    ]


def _shape(seen: Observed) -> list[float]:
    raw = _texts(seen, "user")
    if not raw:
        return [0.0] * 7
    said = [fold(text) for text in raw]
    words = sum(len(text.split()) for text in said)
    negations = sum(1 for text in said for _ in lexicon.NEGATION.finditer(text))
    return [
        math.log1p(words / len(said)),
        sum(text.rstrip().endswith(("?", "\uff1f")) for text in said) / len(said),
        sum(text.count("!") for text in said) / len(said),
        10 * negations / max(words, 1),
        sum(len(_CAPITALS.findall(text)) for text in raw) / len(said),
        sum(bool(lexicon.CURT.match(text)) for text in said) / len(said),
        float(bool(lexicon.CURT.match(said[-1]))),
    ]


def _last_text(seen: Observed, role: str) -> str:
    turn = next((t for t in reversed(seen.turns) if t.role == role), None)
    return fold(turn.text[:_TEXT_CHARS]) if turn else ""


def _closing(seen: Observed) -> list[float]:
    """How it closed: the assistant's final turn (done, deferred, refused), a tool left
    pending, and the user's last turn (thanks, "at least", a plan of their own, a goodbye,
    resignation, its length and the cue lists' reading of it)."""
    said = _last_text(seen, "assistant")
    last = _last_text(seen, "user")
    tools = [t for t in seen.turns[-4:] if t.role == "tool"]
    cue = seen.cues[-1] if seen.cues else None
    return [
        float(bool(lexicon.DONE.search(said))),
        float(bool(lexicon.DEFERRED.search(said))),
        float(bool(lexicon.REFUSED.search(said))),
        float(any(lexicon.TOOL_PENDING.search(t.text) for t in tools)),
        float(bool(lexicon.THANKS.search(last))),
        float(bool(lexicon.PARTIAL.search(last))),
        float(bool(lexicon.SELF_ACTION.search(last))),
        float(bool(lexicon.PLEASANTRY.search(last))),
        float(bool(lexicon.RESIGNED.search(last))),
        math.log1p(len(last.split())),
        *(float(bool(cue and getattr(cue, flag))) for flag in _LAST_FLAGS),
    ]


_LAST_FLAGS = ("worked", "pending", "failed", "gave_up")
_PLEASANTRY_WORDS, _PLEASANTRY_CHARS = 12, 80
_OUTCOMES = (lexicon.DONE, lexicon.NOT_DONE, lexicon.DEFERRED, lexicon.WORKED, lexicon.FAILED,
             lexicon.GIVE_UP, lexicon.PENDING)  # fmt: skip


def _pleasantry(turn: Turn) -> bool:
    """A short closing turn ("thanks, bye", "anything else?") that says nothing of the
    outcome."""
    if turn.role not in ("user", "assistant"):
        return False
    text = fold(turn.text[: 2 * _PLEASANTRY_CHARS])
    return (
        len(text) <= _PLEASANTRY_CHARS
        and len(text.split()) <= _PLEASANTRY_WORDS
        and bool(lexicon.PLEASANTRY.search(text))
        and not any(cue.search(text) for cue in _OUTCOMES)
    )


def _outcome(seen: Observed) -> list[float]:
    """The outcome before the closing pleasantries (a call often ends on goodbyes after the
    matter was settled): the assistant's last two turns before them (done, deferred,
    refused, not done), the tools' last answers, the user's last word on it; and over the
    whole conversation, how often and how late the assistant said done, deferred, refused."""
    turns = list(seen.turns)
    while turns and _pleasantry(turns[-1]):
        turns.pop()
    dropped = len(seen.turns) - len(turns)
    turns = turns or list(seen.turns)
    before = [fold(t.text[:_TEXT_CHARS]) for t in turns if t.role == "assistant"][-2:]
    said = [fold(text) for text in _texts(seen, "assistant")]
    users = [t for t in turns if t.role == "user"]
    last = fold(users[-1].text[:_TEXT_CHARS]) if users else ""
    tools = [t for t in turns if t.role == "tool"][-2:]

    def share(cue: re.Pattern[str]) -> float:
        return sum(bool(cue.search(text)) for text in said) / max(len(said), 1)

    def latest(cue: re.Pattern[str]) -> float:
        at = [i for i, text in enumerate(said) if cue.search(text)]
        return (at[-1] + 1) / len(said) if at else 0.0

    return [
        math.log1p(dropped),
        *(float(any(cue.search(text) for text in before)) for cue in _ASSISTANT_OUTCOMES),
        *(share(cue) for cue in _ASSISTANT_OUTCOMES[:3]),
        *(latest(cue) for cue in _ASSISTANT_OUTCOMES[:3]),
        float(any(lexicon.TOOL_PENDING.search(t.text) for t in tools)),
        float(any(lexicon.TOOL_OK.search(t.text) for t in tools)),
        float(any(lexicon.TOOL_ERROR.search(t.text) for t in tools)),
        float(bool(turns) and turns[-1].role == "user"),
        *(float(bool(cue.search(last))) for cue in _USER_OUTCOMES),
    ]


_ASSISTANT_OUTCOMES = (lexicon.DONE, lexicon.DEFERRED, lexicon.REFUSED, lexicon.NOT_DONE)
_USER_OUTCOMES = (lexicon.WORKED, lexicon.FAILED, lexicon.PENDING, lexicon.GIVE_UP,
                  lexicon.PARTIAL, lexicon.RESIGNED)  # fmt: skip


GROUPS: dict[str, Callable[[Observed], list[float]]] = {
    "rules": _rules,
    "cues": _cues,
    "vader": _vader,
    "emoji": _emoji,
    "ending": _ending,
    "assistant": _assistant,
    "shape": _shape,
    "closing": _closing,
    "outcome": _outcome,
}
# How many features each group gives (checked against the weights when they load).
WIDTHS = {"rules": 6, "cues": 30, "vader": 6, "emoji": 4, "ending": 12, "assistant": 4,
          "shape": 7, "closing": 14, "outcome": 21}  # fmt: skip


def features(seen: Observed, groups: tuple[str, ...]) -> Vector:
    """The conversation's features of `groups`, in that order."""
    return np.array([value for group in groups for value in GROUPS[group](seen)])


@dataclass(frozen=True)
class Softmax:
    """A multinomial logistic regression over standardized features of some groups."""

    classes: tuple[str, ...]
    groups: tuple[str, ...]
    mean: Vector
    scale: Vector
    weights: Vector  # (features, classes)
    bias: Vector

    def probabilities(self, x: Vector) -> Vector:
        z = (x - self.mean) / self.scale @ self.weights + self.bias
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    def predict(self, seen: Observed) -> str:
        return self.classes[int(np.argmax(self.probabilities(features(seen, self.groups))))]


@dataclass(frozen=True)
class Model:
    sentiment: Softmax
    task: Softmax

    def labels(self, seen: Observed) -> tuple[Sentiment, bool]:
        """The conversation's sentiment and taskCompleted, as the model reads them."""
        sentiment = self.sentiment.predict(seen)
        if sentiment not in SENTIMENTS:
            raise ValueError(f"model.npz: unknown sentiment class {sentiment!r}")
        return sentiment, self.task.predict(seen) == "True"

    def save(self, path: Path) -> None:
        arrays: dict[str, npt.NDArray[np.generic]] = {}
        for name in HEADS:
            head: Softmax = getattr(self, name)
            arrays |= {
                f"{name}_classes": np.array(head.classes),
                f"{name}_groups": np.array(head.groups),
                f"{name}_mean": head.mean.astype(np.float32),
                f"{name}_scale": head.scale.astype(np.float32),
                f"{name}_weights": head.weights.astype(np.float32),
                f"{name}_bias": head.bias.astype(np.float32),
            }
        with path.open("wb") as out:
            np.savez_compressed(out, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Model:
        """The weights in `path`, checked against the feature groups this code computes."""
        with np.load(path, allow_pickle=False) as arrays:
            heads = {name: _head(arrays, name) for name in HEADS}
        return cls(**heads)


def _head(arrays: np.lib.npyio.NpzFile, name: str) -> Softmax:
    groups = tuple(str(g) for g in arrays[f"{name}_groups"])
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(f"model.npz: {name} uses unknown feature groups {sorted(unknown)}")
    head = Softmax(
        classes=tuple(str(c) for c in arrays[f"{name}_classes"]),
        groups=groups,
        mean=arrays[f"{name}_mean"].astype(np.float64),
        scale=arrays[f"{name}_scale"].astype(np.float64),
        weights=arrays[f"{name}_weights"].astype(np.float64),
        bias=arrays[f"{name}_bias"].astype(np.float64),
    )
    width = sum(WIDTHS[group] for group in groups)
    if head.weights.shape != (width, len(head.classes)) or head.bias.shape != (len(head.classes),):
        raise ValueError(f"model.npz: {name}'s weights do not match its groups and classes")
    return head
