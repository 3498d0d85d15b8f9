"""Text analysis: the one definition of what a searchable term is, used for the index, the
not-yet-compacted tail, the query and the highlights alike (tantivy's own tokenizer and filters,
so indexing never goes through Python per word).

A term is a run of letters, digits and combining marks, except that each CJK character (Han,
kana, Hangul) is a term of its own; terms are lower-cased, folded to ASCII where a Latin
equivalent exists (`café` → `cafe`, `Straße` → `strasse`) and stemmed with English Snowball
(`refunds` → `refund`). Several terms from one query word (`退款`, `gpt-4o`) must appear next
to each other: a phrase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tantivy

ANALYZER_NAME = "parley"

_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}"
# Rust regex syntax (tantivy): one CJK character, or a run of other letters/digits/marks.
_TERM_PATTERN = rf"[{_CJK}]|[\p{{L}}\p{{N}}\p{{M}}--{_CJK}]+"


@lru_cache(maxsize=1)
def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(_TERM_PATTERN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def terms(text: str) -> list[str]:
    """The terms of `text`, in order."""
    return list(analyzer().analyze(text))


@dataclass(frozen=True)
class Token:
    term: str
    start: int  # character offsets in the text
    end: int


def tokens(text: str) -> list[Token]:
    return [
        Token(t.text, t.char_offset_from, t.char_offset_to)
        for t in analyzer().pre_tokenize(text).tokens
    ]
