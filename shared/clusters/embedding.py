"""A conversation's embedding: 256 floats, L2-normalized, so a dot product is a cosine.

Two embedders, chosen by `PARLEY_CLUSTERS_EMBEDDER` (docs/clusters.md "Embeddings"):
- `local` (default; make dev, tests, AWS unless set): hashed bag of words. Each word (folded:
  lowercase, accents dropped; stop, time and politeness words left out) and each long word's
  5-letter prefix (a cheap stemmer: refund/refunded/refunds) is a feature weighted 1 + log(tf);
  every feature is hashed (CRC-32, stable across processes) to four of the 256 dimensions with
  a sign each: a sparse random projection, numpy only, no model and nothing downloaded. A
  conversation's vector depends on its own text only, so it is stored and never recomputed.
- `bedrock`: Amazon Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`, 256 dimensions,
  normalized) through `bedrock-runtime` InvokeModel; multilingual and semantic.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from botocore.exceptions import BotoCoreError, ClientError

from shared.clusters.terms import NOT_TERMS
from shared.errors import StorageUnavailable

if TYPE_CHECKING:
    from shared.settings import Settings

DIMENSIONS = 256
MAX_CHARS = 20_000  # of a conversation's text: its start says what it is about
_HASHES = 4  # dimensions per feature
_PREFIX = 5
_WORD = re.compile(r"[^\W\d_]{2,}")
_MARKS = re.compile(r"[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lowercase, accents dropped (NFKD, combining marks removed by one C-level regex)."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.lower()))


def words(text: str) -> list[str]:
    """The words a cluster is about: folded, letters only, no stop/time/politeness words."""
    return [w for w in _WORD.findall(fold(text[:MAX_CHARS])) if w not in NOT_TERMS]


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class LocalEmbedder:
    name = "local-hashed-v1"

    def __init__(self) -> None:
        self._slots: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _slot(self, feature: str) -> tuple[np.ndarray, np.ndarray]:
        found = self._slots.get(feature)
        if found is None:
            raw = feature.encode()
            hashes = [zlib.crc32(raw, seed) for seed in range(_HASHES)]
            dims = np.array([h % DIMENSIONS for h in hashes], dtype=np.intp)
            signs = np.array([1.0 if (h >> 16) & 1 else -1.0 for h in hashes], dtype=np.float32)
            found = self._slots[feature] = (dims, signs)
            if len(self._slots) > 500_000:  # bounded memory on a long-lived worker
                self._slots.clear()
        return found

    def vector(self, text: str) -> np.ndarray:
        counts: Counter[str] = Counter()
        for word in words(text):
            counts[word] += 1
            if len(word) > _PREFIX:
                counts["~" + word[:_PREFIX]] += 1
        out = np.zeros(DIMENSIONS, dtype=np.float32)
        if not counts:
            return out
        dims = np.empty(len(counts) * _HASHES, dtype=np.intp)
        values = np.empty(len(counts) * _HASHES, dtype=np.float32)
        for n, (feature, count) in enumerate(counts.items()):
            slot_dims, signs = self._slot(feature)
            at = n * _HASHES
            dims[at : at + _HASHES] = slot_dims
            values[at : at + _HASHES] = signs * (1.0 + math.log(count))
        out += np.bincount(dims, weights=values, minlength=DIMENSIONS).astype(np.float32)
        return normalized(out)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.vstack([self.vector(t) for t in texts])


class BedrockEmbedder:
    """Titan Text Embeddings V2; a throttled or unavailable model is a retryable fault (the
    conversation stays unassigned and the next run tries again)."""

    name = "titan-embed-text-v2-256"
    MODEL_ID = "amazon.titan-embed-text-v2:0"

    def __init__(self, client: Any) -> None:
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> BedrockEmbedder:
        import botocore.session
        from botocore.config import Config

        config = Config(
            connect_timeout=5,
            read_timeout=settings.bedrock_timeout_seconds,
            retries={"mode": "standard", "max_attempts": 3},
        )
        client = botocore.session.get_session().create_client(
            "bedrock-runtime", region_name=settings.aws_region, config=config
        )
        return cls(client)

    def vector(self, text: str) -> np.ndarray:
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

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.vstack([self.vector(t) for t in texts])


def normalized(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def make_embedder(settings: Settings) -> Embedder:
    if settings.clusters_embedder == "bedrock":
        return BedrockEmbedder.from_settings(settings)
    return LocalEmbedder()
