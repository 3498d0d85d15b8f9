"""OTLP values as plain Python: attributes (AnyValue), the flat message keys, and JSON carried
inside an attribute.

Every value read here may be stored, so each obeys the request body's rules (shared.body): it
nests at most `MAX_JSON_DEPTH` levels (deeper JSON could not be read back) and holds no number
JSON cannot write (an OTLP double NaN or ±infinity is kept as the OTLP JSON encoding spells it,
"NaN", "Infinity", "-Infinity").
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any

import pydantic_core

from shared.body import MAX_JSON_DEPTH
from shared.otel.models import FlatMessages

TOO_DEEP = f"nests deeper than {MAX_JSON_DEPTH} levels"
NOT_FINITE = "holds a number too large for JSON"
_NON_FINITE_NAMES = {math.inf: "Infinity", -math.inf: "-Infinity"}


class ValueRefused(ValueError):
    """An attribute value that breaks a rule above: its span is refused, naming the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"attribute {key[:80]} {problem}")


class Unstorable(ValueError):
    """Valid JSON that breaks a rule above (the message says which)."""


class _TooDeep(Exception):
    pass


def any_value(value: Any, depth: int = 0) -> Any:
    """An OTLP AnyValue as plain Python (bytes as base64 text, as the JSON encoding has them).
    `depth`: the levels of arrays and maps around it. Raises _TooDeep."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        number = value.double_value
        if math.isfinite(number):
            return number
        return _NON_FINITE_NAMES.get(number, "NaN")
    if kind == "array_value":
        if depth >= MAX_JSON_DEPTH:
            raise _TooDeep
        return [any_value(item, depth + 1) for item in value.array_value.values]
    if kind == "kvlist_value":
        if depth >= MAX_JSON_DEPTH:
            raise _TooDeep
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def _decoded(key: str, value: Any) -> Any:
    try:
        return any_value(value)
    except _TooDeep:
        raise ValueRefused(key, TOO_DEEP) from None


def span_attributes(key_values: Any) -> tuple[dict[str, Any], FlatMessages]:
    """A span's attributes, with the flat message ones grouped by message (one pass: a span
    that resends a long history has thousands of them). Raises ValueRefused."""
    found: dict[str, Any] = {}
    flat: FlatMessages = {}
    parsed_keys = _FLAT_KEYS
    for kv in key_values:
        key = kv.key
        value = kv.value
        # Most attributes are strings: read them without the general conversion.
        text = value.string_value
        plain = text if text or value.WhichOneof("value") == "string_value" else None
        parsed = parsed_keys.get(key, _UNPARSED)
        if parsed is _UNPARSED:
            parsed = _parse_flat_key(key)
        if parsed is None:
            found[key] = _decoded(key, value) if plain is None else plain
            continue
        family, slot, name = parsed
        messages = flat.get(family)
        if messages is None:
            messages = flat[family] = {}
        fields = messages.get(slot)
        if fields is None:
            fields = messages[slot] = {}
        fields[name] = _decoded(key, value) if plain is None else plain
    return found, flat


def attributes(key_values: Any) -> dict[str, Any]:
    """Attributes as a dict. Raises ValueRefused."""
    found: dict[str, Any] = {}
    for kv in key_values:
        value = kv.value
        # Most attributes are strings: read them without the general conversion's calls.
        if value.WhichOneof("value") == "string_value":
            found[kv.key] = value.string_value
        else:
            found[kv.key] = _decoded(kv.key, value)
    return found


# -- flat message keys ------------------------------------------------------------------------

# `<prefix>.N.<field>`. N of any length is read: one past 9 digits is out of range (refused by
# the message limit) without ever becoming a huge int.
_FLAT_KEY = re.compile(
    r"(gen_ai\.prompt|gen_ai\.completion|llm\.prompts|llm\.completions)\.(\d+)\.(.+)", re.S
)
_FLAT_KINDS = {
    "gen_ai.prompt": ("gen_ai", False),
    "gen_ai.completion": ("gen_ai", True),
    "llm.prompts": ("llm", False),
    "llm.completions": ("llm", True),
}
MAX_INDEX_DIGITS = 9
INDEX_OUT_OF_RANGE = 10**MAX_INDEX_DIGITS

# Attribute keys repeat from span to span: each is matched once. Bounded, for hostile keys:
# at most 65,536 of them, none longer than a real one.
_FLAT_KEYS: dict[str, tuple[str, tuple[bool, int], str] | None] = {}
_UNPARSED = ("", (False, 0), "")
_CACHED_KEY_CHARS = 256


def index_value(digits: str) -> int:
    """A decimal index from a key, INDEX_OUT_OF_RANGE when it has more than 9 digits."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= MAX_INDEX_DIGITS else INDEX_OUT_OF_RANGE


def _parse_flat_key(key: str) -> tuple[str, tuple[bool, int], str] | None:
    """`gen_ai.prompt.3.content` → ("gen_ai", (False, 3), "content"); None for other keys."""
    parts = _FLAT_KEY.match(key)
    parsed = None
    if parts is not None:
        prefix, index, name = parts.groups()
        family, is_completion = _FLAT_KINDS[prefix]
        parsed = (family, (is_completion, index_value(index)), name)
    if len(key) <= _CACHED_KEY_CHARS:
        if len(_FLAT_KEYS) >= 65_536:
            _FLAT_KEYS.clear()
        _FLAT_KEYS[key] = parsed
    return parsed


# -- JSON inside an attribute -------------------------------------------------------------------


def json_in_attribute(text: str) -> Any:
    """The JSON value an attribute carries as text. Raises Unstorable, or ValueError when the
    text is not JSON (NaN and Infinity are not)."""
    value = pydantic_core.from_json(text, allow_inf_nan=False)
    problem = json_problem(value)
    if problem is not None:
        raise Unstorable(problem)
    return value


def json_problem(value: Any) -> str | None:
    """Why a decoded JSON value cannot be stored as it is, or None. Level by level, pushing
    only objects and arrays: a fraction of the parse's cost. Decoded JSON holds exactly
    dict/list/float among the types that matter, so `type(x) is` checks suffice."""
    isfinite = math.isfinite
    if type(value) is float:
        return None if isfinite(value) else NOT_FINITE
    level: list[Any] = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            return TOO_DEEP
        deeper: list[Any] = []
        push = deeper.append
        for node in level:
            for child in node.values() if type(node) is dict else node:
                kind = type(child)
                if kind is dict or kind is list:
                    push(child)
                elif kind is float and not isfinite(child):
                    return NOT_FINITE
        level = deeper
    return None
