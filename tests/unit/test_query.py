"""The one query-string parser (shared/query.py): the same rules and the same 400 on every
route, worded for both envelopes (the message names the parameter; so do `details`)."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from shared import cursors, query
from shared.errors import BadRequest


def request(**params: str) -> Request:
    return Request({"type": "http", "query_string": urlencode(params).encode(), "headers": []})


def refusal(call: object) -> BadRequest:
    assert callable(call)
    with pytest.raises(BadRequest) as raised:
        call()
    return raised.value


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "101",
        "-1",
        "+5",
        " 5",
        "5 ",
        "1e2",
        "0x10",
        "",
        "\u0665",  # Arabic-Indic five: a digit to str.isdigit(), not to this API
        "\uff15",  # full-width five
        "1" * 4301,  # past Python's int-conversion limit
        "9" * 100,
    ],
)
def test_integers_outside_the_rule_are_400_naming_the_parameter(raw: str) -> None:
    error = refusal(lambda: query.integer(request(limit=raw), "limit", default=20, low=1, high=100))
    assert error.message.startswith("'limit' must be an integer from 1 to 100")
    assert error.details == {"limit": "Must be an integer from 1 to 100"}
    assert len(error.message) < 120  # the value is echoed short


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.integers(-(10**6), 10**6).map(str))
def test_an_integer_is_accepted_exactly_when_its_ascii_digits_are_in_range(raw: str) -> None:
    expected = int(raw) if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 100 else None
    try:
        got = query.integer(request(limit=raw), "limit", default=20, low=1, high=100)
    except BadRequest:
        got = None
    assert got == expected


def test_absent_parameters_take_their_defaults() -> None:
    empty = request()
    assert query.integer(empty, "limit", default=20, low=1, high=100) == 20
    assert query.choice(empty, "status", ("a", "b")) is None
    assert query.boolean(empty, "hasInsights") is None
    assert query.date(empty, "since") is None
    assert query.text(empty, "promptId", max_chars=5) is None
    assert query.cursor(empty) is None
    assert query.cursor(request(cursor="")) is None  # an empty cursor: the first page
    assert query.integer(request(limit="007"), "limit", default=1, low=1, high=100) == 7


def test_an_enum_names_its_allowed_values() -> None:
    error = refusal(lambda: query.choice(request(source="sms"), "source", ("chat", "email")))
    assert error.message == "'source' must be one of chat, email (got 'sms')"
    assert error.details == {"source": "Must be one of chat, email"}
    assert query.choice(request(source="email"), "source", ("chat", "email")) == "email"
    refusal(lambda: query.choice(request(source=""), "source", ("chat",)))
    refusal(lambda: query.choice(request(source="Chat"), "source", ("chat",)))


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("FALSE", False), ("True", True)])
def test_booleans(raw: str, value: bool) -> None:
    assert query.boolean(request(flag=raw), "flag") is value


@pytest.mark.parametrize("raw", ["1", "yes", "", "truee"])
def test_other_booleans_are_refused(raw: str) -> None:
    assert refusal(lambda: query.boolean(request(flag=raw), "flag")).details == {
        "flag": "Must be true or false"
    }


@pytest.mark.parametrize(
    "raw",
    ["2024-02-29", "2024-01-15T10:30", "2024-01-15T10:30Z", "2024-01-15T10:30:00.123Z"],
)
def test_real_dates_pass_as_sent(raw: str) -> None:
    assert query.date(request(since=raw), "since") == raw


@pytest.mark.parametrize(
    "raw",
    [
        "2024-13-45",
        "2024-02-30",
        "2023-02-29",
        "2024-00-10",
        "2024-01-15T24:00Z",
        "2024-01-15T10:60Z",
        "2024-01-15T10:30:61Z",
        "20240115",
        "2024-1-5",
        "\u0662\u0660\u0662\u0664-01-15",
        "",
        "yesterday",
    ],
)
def test_impossible_or_malformed_dates_are_400(raw: str) -> None:
    error = refusal(lambda: query.date(request(since=raw), "since"))
    assert error.message.startswith("'since' must be a date (2026-01-31)")
    assert set(error.details or {}) == {"since"}


def test_text_is_bounded() -> None:
    assert query.text(request(p="x" * 5), "p", max_chars=5) == "x" * 5
    assert refusal(lambda: query.text(request(p="x" * 6), "p", max_chars=5)).details == {
        "p": "Must be 1 to 5 characters"
    }
    refusal(lambda: query.text(request(p=""), "p", max_chars=5))


# --- cursors -----------------------------------------------------------------------------------


def test_a_cursor_opens_only_in_its_own_scope() -> None:
    scope = ("records", "acme", "c", "")
    sealed = cursors.seal(["rec_1", "2024#1#0"], scope)
    assert cursors.open_cursor(sealed, scope, 2) == ["rec_1", "2024#1#0"]
    for other in (("records", "other", "c", ""), ("records", "acme", "d", ""), ("summaries",)):
        assert refusal(lambda o=other: cursors.open_cursor(sealed, o, 2)).details == {
            "cursor": "Must be the nextCursor of the previous page of this same list, unchanged"
        }
    refusal(lambda: cursors.open_cursor(sealed, scope, 1))  # the wrong shape for this list


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 200), st.integers(0, 255))
def test_a_tampered_cursor_is_refused(position: int, byte: int) -> None:
    scope = ("conversations", "acme", "", "", "")
    sealed = cursors.seal(["conv_01"], scope)
    index = position % len(sealed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    changed = sealed[:index] + alphabet[byte % 64] + sealed[index + 1 :]
    if changed == sealed:
        return
    try:
        opened = cursors.open_cursor(changed, scope, 1)
    except BadRequest:
        return
    # Only a change base64 ignores (the last character's unused bits) may still open.
    assert opened == ["conv_01"]


OLD_CURSORS = [
    base64.urlsafe_b64encode(b"conv_01J0000000000000000000000").decode().rstrip("="),
    base64.urlsafe_b64encode(json.dumps({"pk": "acme#c", "gpk": "acme", "gsk": "x"}).encode()),
]


@pytest.mark.parametrize("old", OLD_CURSORS)
def test_cursors_from_before_signing_are_a_clear_400(old: str | bytes) -> None:
    """Plain base64 of an id (the conversations list) or of DynamoDB's key (the summaries
    list), as they were before: refused, so the client starts the list again."""
    text = old.decode() if isinstance(old, bytes) else old
    error = refusal(lambda: cursors.open_cursor(text, ("conversations", "acme", "", "", ""), 1))
    assert "cursor" in (error.details or {})
