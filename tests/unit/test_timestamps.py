"""Timestamps: the compiled fast path for canonical ones and `_iso_timestamp` agree on every
string — the same stored value, or the same refusal."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from shared.fields import Timestamp, _iso_timestamp, describe_error

ADAPTER: TypeAdapter[str] = TypeAdapter(Timestamp, config=ConfigDict(strict=True))


def answer(value: object) -> tuple[str, str]:
    """("ok", stored) or ("refused", message) through the field type."""
    try:
        return "ok", ADAPTER.validate_python(value)
    except ValidationError as exc:
        return "refused", describe_error(exc.errors()[0], "").strip()


def reference(value: str) -> tuple[str, str]:
    """The same through `_iso_timestamp` alone (what every timestamp took before)."""
    try:
        return "ok", _iso_timestamp(value)
    except PydanticCustomError as exc:
        return "refused", exc.message()


digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=4)
# Shaped like timestamps, every part drawn so that edges (day 28-31, hour 23-24, year 0000,
# missing or extra digits, other separators and suffixes) come up often.
shaped = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, tz: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{tz}",
    st.one_of(digits, st.sampled_from(["0000", "0001", "2024", "2023", "9999"])),
    st.one_of(digits, st.sampled_from(["01", "02", "12", "13", "00"])),
    st.one_of(digits, st.sampled_from(["28", "29", "30", "31", "32", "00", "01"])),
    st.sampled_from(["T", " ", "t", "_"]),
    st.one_of(digits, st.sampled_from(["00", "23", "24"])),
    st.one_of(digits, st.sampled_from(["00", "59", "60"])),
    st.one_of(digits, st.sampled_from(["00", "59", "60"])),
    st.sampled_from(["", ".", ".1", ".12", ".123", ".1234", ".123456", ",123"]),
    st.sampled_from(["Z", "z", "", "+00:00", "+02:00", "-05:30", "Z\n", "ZZ"]),
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(shaped, st.text(max_size=30)))
def test_every_string_gets_the_answer_iso_timestamp_gives(value: str) -> None:
    assert answer(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-15T10:30:00.123Z",
        "2024-02-29T10:30:00.000Z",  # leap day: the Python path
        "2023-02-29T10:30:00.000Z",  # no such day
        "0000-01-01T00:00:00.000Z",
        "0001-01-01T00:00:00.000Z",
        "2024-01-15T24:00:00.000Z",
        "2024-01-15T10:30:00.123Z\n",
        "\uff12\uff10\uff12\uff14-01-15T10:30:00.123Z",  # full-width digits
        "2024-01-15T10:30:00.123+02:00",
        "yesterday",
    ],
)
def test_edges(value: str) -> None:
    assert answer(value) == reference(value)


def test_a_non_string_is_named_as_such() -> None:
    assert answer(1700000000) == ("refused", "must be a string (got 1700000000)")


# --- what a timestamp may look like ------------------------------------------------------------

# The test's own reading of an extended-form timestamp: date, optional time (hour, minute,
# second, fraction) and optional offset, each part captured.
SPELLED = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[Tt ](\d\d)(?::(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)?)?"
    r"(?:([Zz])|([+-])(\d\d)(?::?(\d\d))?)?)?",
    re.ASCII,
)


def spelled_moment(value: str) -> datetime | None:
    """The UTC moment the string spells, to the millisecond, or None if it spells none."""
    found = SPELLED.fullmatch(value)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, _z, sign, off_h, off_m = found.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:3].ljust(3, "0")) * 1000,
            tzinfo=UTC,
        )
        offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
        return moment - offset if sign == "+" else moment + offset
    except (ValueError, OverflowError):
        return None


CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", re.ASCII)


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        shaped,
        st.text(max_size=30),
        st.text(st.sampled_from("0123456789-:T.Z+ "), max_size=40),
        st.integers(1, 6000).map(lambda n: "1" * n),
    )
)
def test_a_stored_timestamp_is_the_moment_the_string_spells(value: str) -> None:
    """Accepted only when the string spells a moment in ISO 8601's extended form, and then
    stored as exactly that moment; anything else (the basic form, week dates, 5,000 `1`s,
    other scripts' digits, fractions past nanoseconds) is refused, never reinterpreted."""
    outcome, stored = answer(value)
    expected = spelled_moment(value)
    if outcome == "refused":
        # The first and last days of years 1 and 9999 may be refused: converting their offset
        # to UTC can overflow.
        assert expected is None or expected.year in (1, 9999)
        return
    assert expected is not None, (value, stored)
    assert CANONICAL.fullmatch(stored)
    assert stored == expected.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


@pytest.mark.parametrize(
    "value",
    [
        "1" * 5000,
        "1" * 16,
        "20240115T103000Z",  # ISO 8601's basic form
        "2024-W03-1",  # a week date
        "2024-01-15T10:30:00.1234567890Z",  # past nanoseconds
        "2024-01-15T10:30:00Z ",
        "2024-01-15_10:30:00Z",
    ],
)
def test_forms_datetime_would_reinterpret_are_refused(value: str) -> None:
    outcome, message = answer(value)
    assert outcome == "refused"
    assert message.startswith("must be an ISO 8601 timestamp")
