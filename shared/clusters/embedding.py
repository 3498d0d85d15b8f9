"""A conversation's embedding: 256 floats, L2-normalized, so a dot product is a cosine.

Two embedders, chosen by `PARLEY_CLUSTERS_EMBEDDER` (docs/clusters.md "Embeddings"):
- `local` (default; make dev, tests, AWS unless set): concepts and hashed words, numpy only,
  no model and nothing downloaded. What a conversation is about is mostly the user's request,
  so the user's turns weigh most (the first 1, the next 0.5, 0.25…) and the whole text 0.3.
  Dimensions 0-79 count the concepts of a cross-language lexicon of support vocabulary
  (`lexicon.py`: rembourser, reembolso, Rückerstattung, 返金 → refund), so requests in two
  languages meet (the concepts that only name an object or setting, an order or an account,
  at half weight); dimensions 80-95 their families (money, access…: half the sum of their
  concepts), so a lost password and a verification code meet; dimensions 96-255 hold the
  words themselves (folded: lowercase, accents dropped; stop, time and politeness words left
  out; each long word's 5-letter prefix too; Japanese and Chinese as character pairs), each
  hashed (CRC-32, stable across processes) to four dimensions with a sign. Each feature
  weighs 1 + log(count); the two parts are normalized apart and added 1 : 0.5. A
  conversation's vector depends on its own text only, so it is stored and never recomputed.
- `bedrock`: Amazon Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`, 256 dimensions,
  normalized) through `bedrock-runtime` InvokeModel; multilingual and semantic; it reads the
  whole text.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from shared.clusters.lexicon import CONCEPTS, CONTEXT, FAMILIES
from shared.errors import StorageUnavailable
from shared.stopwords import STOP_WORDS
from shared.textfold import fold

if TYPE_CHECKING:
    from shared.settings import Settings

DIMENSIONS = 256
MAX_CHARS = 20_000  # of a conversation's text: its start says what it is about
TURN = "\x1e"  # between the user's turns in Document.request
CONCEPT_DIMENSIONS = 96  # the lexicon's concepts and families; the words hash to the rest
FAMILY_AT = 80  # concepts take dimensions 0-79, their families 80-95
_HASHES = 4  # dimensions per word feature
_PREFIX = 5
_TURN_DECAY = 0.5  # the user's i-th turn weighs _TURN_DECAY ** i
_WHOLE = 0.3  # the whole conversation's weight beside the user's turns
_WORDS_PART = 0.5  # the words' part beside the concepts' part (each normalized first)
_CONTEXT = 0.5  # weight of a lexicon.CONTEXT concept (an order, an account) beside the others
_FAMILY = 0.5  # a family's dimension: this times the sum of its concepts' values
_WORD = re.compile(r"[^\W\d_]{2,}")
_TOKEN = re.compile(r"[^\W_]+")
_CJK_CHARS = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")


def words(text: str) -> list[str]:
    """The words a cluster is about: folded, letters only, no stop/time/politeness words;
    Japanese and Chinese (no spaces) as overlapping character pairs."""
    return _content_words(fold(text[:MAX_CHARS]))


def _content_words(folded: str) -> list[str]:
    found = [w for w in _WORD.findall(folded) if w not in STOP_WORDS and not _CJK.search(w)]
    for run in _CJK_RUN.findall(folded):
        found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found


@dataclass(frozen=True)
class Document:
    """What an embedder reads of a conversation: its messages' text in order, and the user's
    turns alone, in order, joined by TURN ("" when no message has the user's role)."""

    text: str
    request: str = ""


def document(item: Document | str) -> Document:
    """A plain string is a conversation whose roles are unknown: all of it is the request."""
    return item if isinstance(item, Document) else Document(item, item)


class Embedder(Protocol):
    name: str

    def embed(self, documents: Sequence[Document | str]) -> np.ndarray: ...


class Lexicon:
    """`lexicon.CONCEPTS` compiled: exact words, stems (`stem*`), phrases of several words
    (matched first, longest first) and Japanese-script entries (found anywhere)."""

    def __init__(self, concepts: dict[str, str], families: dict[str, frozenset[str]]) -> None:
        names = sorted(concepts)
        if len(names) > FAMILY_AT or len(families) > CONCEPT_DIMENSIONS - FAMILY_AT:
            raise ValueError(f"{len(names)} concepts, {len(families)} families: too many")
        self.names = names
        self.weights = [_CONTEXT if name in CONTEXT else 1.0 for name in names]
        family_of = {
            name: at for at, family in enumerate(sorted(families)) for name in families[family]
        }
        self.families = [family_of.get(name, -1) for name in names]  # -1: no family
        self.exact: dict[str, set[int]] = {}
        self.stems: dict[str, set[int]] = {}
        self.phrases: dict[str, list[tuple[tuple[str, ...], bool, int]]] = {}
        self.anywhere: dict[str, set[int]] = {}
        for index, name in enumerate(names):
            for raw in concepts[name].split(","):
                entry = fold(" ".join(raw.split()))
                if not entry:
                    continue
                if _CJK.search(entry):
                    self.anywhere.setdefault(entry, set()).add(index)
                    continue
                stem = entry.endswith("*")
                parts = tuple(_TOKEN.findall(entry.rstrip("*")))
                if len(parts) == 1:
                    (self.stems if stem else self.exact).setdefault(parts[0], set()).add(index)
                elif parts:
                    self.phrases.setdefault(parts[0], []).append((parts, stem, index))
        for found in self.phrases.values():
            found.sort(key=lambda p: -len(p[0]))
        self.anywhere = dict(sorted(self.anywhere.items(), key=lambda item: -len(item[0])))
        self._words: dict[str, tuple[int, ...]] = {}

    def _word(self, token: str) -> tuple[int, ...]:
        found = self._words.get(token)
        if found is None:
            hits = set(self.exact.get(token, ()))
            for end in range(len(token), 2, -1):
                hits |= self.stems.get(token[:end], set())
            found = self._words[token] = tuple(sorted(hits))
            if len(self._words) > 500_000:  # bounded memory on a long-lived worker
                self._words.clear()
        return found

    def concepts(self, folded: str) -> Counter[int]:
        """How often each concept is named in a folded text."""
        tokens = _TOKEN.findall(folded)
        counts: Counter[int] = Counter()
        at = 0
        while at < len(tokens):
            token = tokens[at]
            matched = 0
            for parts, stem, index in self.phrases.get(token, ()):
                n = len(parts)
                got = tokens[at : at + n]
                if (
                    len(got) == n
                    and got[1:-1] == list(parts[1:-1])
                    and (got[-1] == parts[-1] or (stem and got[-1].startswith(parts[-1])))
                ):
                    counts[index] += 1
                    matched = n
                    break
            if matched:
                at += matched
                continue
            counts.update(self._word(token))
            at += 1
        if self.anywhere and _CJK.search(folded):
            # Longest first, each match blanked out: ダウンロード (download) is not ダウン (down).
            for entry, indexes in self.anywhere.items():
                if n := folded.count(entry):
                    for index in indexes:
                        counts[index] += n
                    folded = folded.replace(entry, " ")
        return counts


LEXICON = Lexicon(CONCEPTS, FAMILIES)


class LocalEmbedder:
    name = "local-concepts-v5"

    def __init__(self) -> None:
        self._slots: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _slot(self, feature: str) -> tuple[np.ndarray, np.ndarray]:
        found = self._slots.get(feature)
        if found is None:
            raw = feature.encode()
            hashes = [zlib.crc32(raw, seed) for seed in range(_HASHES)]
            span = DIMENSIONS - CONCEPT_DIMENSIONS
            dims = np.array([CONCEPT_DIMENSIONS + h % span for h in hashes], dtype=np.intp)
            signs = np.array([1.0 if (h >> 16) & 1 else -1.0 for h in hashes], dtype=np.float32)
            found = self._slots[feature] = (dims, signs)
            if len(self._slots) > 500_000:  # bounded memory on a long-lived worker
                self._slots.clear()
        return found

    def vector(self, item: Document | str) -> np.ndarray:
        doc = document(item)
        turns = [t for t in doc.request[:MAX_CHARS].split(TURN) if t.strip()]
        parts = [(turn, _TURN_DECAY**i) for i, turn in enumerate(turns)]
        parts.append((doc.text[:MAX_CHARS], _WHOLE if turns else 1.0))
        concepts: dict[int, float] = {}
        features: dict[str, float] = {}
        for text, weight in parts:
            folded = fold(text)
            for index, count in LEXICON.concepts(folded).items():
                value = weight * LEXICON.weights[index] * (1.0 + math.log(count))
                concepts[index] = concepts.get(index, 0.0) + value
            counts: Counter[str] = Counter()
            for word in _content_words(folded):
                counts[word] += 1
                if len(word) > _PREFIX and not _CJK.search(word):
                    counts["~" + word[:_PREFIX]] += 1
            for feature, count in counts.items():
                features[feature] = features.get(feature, 0.0) + weight * (1.0 + math.log(count))
        out = np.zeros(DIMENSIONS, dtype=np.float32)
        for index, value in concepts.items():
            out[index] = value
            if (family := LEXICON.families[index]) >= 0:
                out[FAMILY_AT + family] += _FAMILY * value
        hashed = np.zeros(DIMENSIONS, dtype=np.float32)
        if features:
            dims = np.empty(len(features) * _HASHES, dtype=np.intp)
            values = np.empty(len(features) * _HASHES, dtype=np.float32)
            for n, (feature, value) in enumerate(features.items()):
                slot_dims, signs = self._slot(feature)
                at = n * _HASHES
                dims[at : at + _HASHES] = slot_dims
                values[at : at + _HASHES] = signs * value
            hashed += np.bincount(dims, weights=values, minlength=DIMENSIONS).astype(np.float32)
        return normalized(normalized(out) + _WORDS_PART * normalized(hashed))

    def embed(self, documents: Sequence[Document | str]) -> np.ndarray:
        if not documents:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.vstack([self.vector(d) for d in documents])


class BedrockEmbedder:
    """Titan Text Embeddings V2; a throttled or unavailable model is a retryable fault (the
    conversation stays unassigned and the next run tries again)."""

    name = "titan-embed-text-v2-256"
    MODEL_ID = "amazon.titan-embed-text-v2:0"

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockEmbedder:
        from shared.bedrock import runtime_client

        return cls(runtime_client(settings))

    def vector(self, item: Document | str) -> np.ndarray:
        text = document(item).text
        body = {"inputText": text[:MAX_CHARS] or " ", "dimensions": DIMENSIONS, "normalize": True}
        try:
            answer = self._client.invoke_model(
                modelId=self.MODEL_ID,
                contentType="application/json",
                accept="application/json",
                body=json.dumps(body),
            )
            embedding = json.loads(answer["body"].read())["embedding"]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable(f"bedrock embeddings: {exc}") from exc
        if len(embedding) != DIMENSIONS:
            raise StorageUnavailable(f"bedrock embeddings: {len(embedding)} dimensions")
        return normalized(np.asarray(embedding, dtype=np.float32))

    def embed(self, documents: Sequence[Document | str]) -> np.ndarray:
        if not documents:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.vstack([self.vector(d) for d in documents])


def normalized(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def make_embedder(settings: Settings) -> Embedder:
    if settings.clusters_embedder == "bedrock":
        return BedrockEmbedder.from_settings(settings)
    return LocalEmbedder()
