"""Properties of the body reader: any bytes are a parsed value or a 400 with a message (never
another exception); valid JSON parses to what the standard library reads; unicode, NUL bytes,
huge numbers, deep nesting, lone surrogates and duplicate keys each have one defined answer."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.body import MAX_JSON_DEPTH, _parse_exactly, parse_json, read_body
from shared.errors import ApiError, BadRequest

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refusal(call: Callable[[], object]) -> ApiError | None:
    """The ApiError `call` raised, or None; any other exception propagates (a failure)."""
    try:
        call()
    except ApiError as exc:
        return exc
    return None


json_text = st.text(st.characters(exclude_categories=["Cs"]))  # every code point but surrogates
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4)
    ),
    max_leaves=20,
)


@PROPERTIES
@given(st.binary(max_size=300))
def test_any_bytes_are_a_value_or_a_400_with_a_message(raw: bytes) -> None:
    refused = refusal(lambda: parse_json(raw))
    assert refused is None or (refused.status == 400 and refused.message)


@PROPERTIES
@given(json_values)
def test_valid_json_parses_to_what_the_standard_library_reads(value: Any) -> None:
    for encoded in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert parse_json(encoded.encode()) == json.loads(encoded)


@PROPERTIES
@given(st.integers(min_value=10**20, max_value=10**4000) | st.integers(max_value=-(10**20)))
def test_huge_integers_are_kept_exactly_or_refused(number: int) -> None:
    body = f'{{"n": {number}}}'.encode()
    refused = refusal(lambda: parse_json(body))
    assert refused is None or (refused.status == 400 and refused.message)
    if refused is None:
        assert parse_json(body) == {"n": number}


@PROPERTIES
@given(st.integers(min_value=1, max_value=3 * MAX_JSON_DEPTH), st.sampled_from(["[]", "{}"]))
def test_nesting_is_accepted_up_to_the_limit_and_refused_past_it(depth: int, kind: str) -> None:
    opening, closing = ("[", "]") if kind == "[]" else ('{"a":', "}")
    body = (opening * depth + "1" + closing * depth).encode()
    if depth <= MAX_JSON_DEPTH:
        assert parse_json(body) is not None
    else:
        with pytest.raises(BadRequest, match="deeper than"):
            parse_json(body)


@PROPERTIES
@given(json_text, st.integers(0xD800, 0xDFFF))
def test_lone_surrogates_are_refused(text: str, surrogate: int) -> None:
    body = json.dumps({"a": text})[:-2] + f'\\u{surrogate:04x}"}}'
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json(body.encode())


@PROPERTIES
@given(json_text, json_text)
def test_nul_bytes_are_kept_as_sent(before: str, after: str) -> None:
    text = f"{before}\x00{after}"
    assert parse_json(json.dumps({"m": text}).encode()) == {"m": text}


@PROPERTIES
@given(json_text, json_values, json_values)
def test_a_duplicate_key_keeps_the_last_value(key: str, first: Any, last: Any) -> None:
    """As JavaScript and Python's json do: the later value wins, deterministically."""
    body = f"{{{json.dumps(key)}: {json.dumps(first)}, {json.dumps(key)}: {json.dumps(last)}}}"
    assert parse_json(body.encode()) == {key: last}


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@PROPERTIES
@given(st.binary(max_size=2000), st.integers(1, 512), st.booleans())
def test_the_reader_returns_the_body_however_it_is_chunked(
    data: bytes, chunk: int, compressed: bool
) -> None:
    sent = gzip.compress(data) if compressed else data
    encoding = "gzip" if compressed else None
    assert asyncio.run(read_body(_chunks(sent, chunk), encoding)) == data


@PROPERTIES
@given(st.binary(min_size=1, max_size=300))
def test_garbage_claiming_gzip_is_a_4xx_with_a_message(data: bytes) -> None:
    refused = refusal(lambda: asyncio.run(read_body(_chunks(data, 64), "gzip")))
    assert refused is not None  # random bytes are no gzip stream (magic, deflate, CRC-32)
    assert 400 <= refused.status < 500
    assert refused.message


def answer(call: Callable[[], object]) -> tuple[str, object]:
    """("ok", value with float/int told apart) or ("refused", status and message)."""
    try:
        return "ok", _typed(call())
    except ApiError as exc:
        return "refused", (exc.status, exc.message)


def _typed(value: Any) -> Any:
    # 1 == 1.0 and -0.0 == 0 in Python: compare types and reprs too.
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return type(value).__name__, repr(value)


number_text = st.one_of(
    st.integers().map(str),
    st.integers(-(2**66), 2**66).map(str),
    st.floats(allow_nan=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
)
json_documents = st.recursive(
    number_text | json_values.map(json.dumps),
    lambda children: (
        st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
        | st.dictionaries(json_text, children, max_size=4).map(
            lambda pairs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs.items()) + "}"
        )
    ),
    max_leaves=20,
)


@PROPERTIES
@given(json_documents, st.sampled_from(["", " ", "\n", "\t", "\x0c", "\x00", ","]))
def test_every_document_gets_the_answer_jiter_alone_gives(document: str, tail: str) -> None:
    """orjson's parse is taken only where it is jiter's: same value, or jiter's refusal."""
    body = (document + tail).encode()
    assert answer(lambda: parse_json(body)) == answer(lambda: _parse_exactly(body))


@PROPERTIES
@given(st.binary(max_size=300))
def test_every_byte_string_gets_the_answer_jiter_alone_gives(raw: bytes) -> None:
    if raw.strip():
        assert answer(lambda: parse_json(raw)) == answer(lambda: _parse_exactly(raw))
