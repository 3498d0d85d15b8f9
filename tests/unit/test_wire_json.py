"""`checked_json` writes what `pydantic_core.to_json` writes, byte for byte, for every value a
checked body can hold; the content-derived ids hash the same canonical JSON as before."""

from __future__ import annotations

from typing import Any

import pydantic_core
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest.records import _canonical_json, _sorted, checked_json

PROPERTIES = settings(max_examples=500, deadline=None)

text = st.text()  # every code point but lone surrogates, which no parsed body holds
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)  # around orjson's 64-bit edge
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=30,
)


@PROPERTIES
@given(values)
def test_checked_json_is_pydantics_json(value: Any) -> None:
    assert checked_json(value) == pydantic_core.to_json(value)


@PROPERTIES
@given(st.dictionaries(text, values, max_size=6))
def test_canonical_json_sorts_keys_by_code_point(raw: dict[str, Any]) -> None:
    assert _canonical_json(raw) == pydantic_core.to_json(_sorted(raw))


def test_edges() -> None:
    for value in (
        1e16,
        1e-7,
        5e-324,
        -0.0,
        1.7976931348623157e308,
        2**64 - 1,
        2**64,
        -(2**63) - 1,
        "\x00\x1f\x7f\u2028\U0010ffff",
        {"\ue000": 1, "\U0001f600": 2, "": [{}]},
    ):
        assert checked_json(value) == pydantic_core.to_json(value)
