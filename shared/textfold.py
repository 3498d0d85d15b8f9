"""One way to fold text for matching, shared by everything that matches words: insights' cue
and topic lists (shared/insights/lexicon.py), the clusters' words and lexicon
(shared/clusters/embedding.py) and the stop words (shared/stopwords.py), all written folded.

Folded: lowercase, ß as ss, accents dropped (NFKD, then the combining accents removed by one
C-level regular expression, then recomposed: Japanese kana keep their voicing marks, so ご and
こ, ば and は stay apart), the typographic apostrophe (U+2019, as typed on phones) as "'"."""

from __future__ import annotations

import re
import unicodedata

_ACCENTS = re.compile("[\u0300-\u036f]")  # combining diacritical marks (Latin accents)
_APOSTROPHE = "\u2019"


def fold(text: str) -> str:
    """`text` folded for matching (see the module's docstring)."""
    plain = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    folded = unicodedata.normalize("NFC", _ACCENTS.sub("", plain))
    return folded.replace(_APOSTROPHE, "'")
