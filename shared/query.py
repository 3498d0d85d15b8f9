"""Query-string parameters: the one parser every route uses.

Each reader returns the parameter's value, its default when it is absent, or raises one
BadRequest that names the parameter both in its message (the ingest API's envelope) and in its
`details` (the conversations API's envelope). The rules, the same on every route:
  integers  ASCII digits only (no sign, no other script's digits), at most as many digits as
            the upper bound has (after leading zeros), within [low, high]
  enums     one of the allowed values, exactly; the 400 lists them
  booleans  `true` or `false` (any case)
  dates     `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.fff]][Z]`, a real calendar date and time
  text      1 to `max_chars` characters
  cursor    opaque (shared.cursors checks it where the list reads it); empty: the first page
Only an empty cursor counts as absent; any other empty value is refused like a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from starlette.requests import Request

from shared.errors import BadRequest
from shared.fields import echo

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?")


def invalid(name: str, problem: str, raw: str | None = None) -> BadRequest:
    """The 400 for one parameter: `problem` completes "<name> …"."""
    got = f" (got {echo(raw)})" if raw is not None else ""
    details = {name: problem[0].upper() + problem[1:]}
    return BadRequest(f"'{name}' {problem}{got}", details=details)


Params = Request | Mapping[str, str]


def _raw(params: Params, name: str) -> str | None:
    """`params`: the request, or its parameters already gathered (a route that also refuses
    unknown or repeated names reads them first)."""
    source = params.query_params if isinstance(params, Request) else params
    return source.get(name)


def integer(request: Params, name: str, *, default: int, low: int, high: int) -> int:
    raw = _raw(request, name)
    if raw is None:
        return default
    # str.isdigit() alone takes any script's digits (Arabic-Indic ones); and int() of
    # thousands of digits meets Python's conversion limit: the length is bounded first.
    digits = raw.lstrip("0") or "0"
    if not (raw.isascii() and raw.isdigit() and len(digits) <= len(str(high))) or not (
        low <= int(digits) <= high
    ):
        raise invalid(name, f"must be an integer from {low} to {high}", raw)
    return int(digits)


def choice(request: Params, name: str, allowed: Sequence[str]) -> str | None:
    raw = _raw(request, name)
    if raw is None:
        return None
    if raw not in allowed:
        raise invalid(name, f"must be one of {', '.join(allowed)}", raw)
    return raw


def boolean(request: Params, name: str) -> bool | None:
    raw = _raw(request, name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise invalid(name, "must be true or false", raw)
    return raw.lower() == "true"


def date(request: Params, name: str) -> str | None:
    """A date or a UTC time, as sent (it bounds a time range by string prefix)."""
    raw = _raw(request, name)
    if raw is None:
        return None
    instant(name, raw)
    return raw


def instant(name: str, raw: str) -> datetime:
    """`raw` (a date, or a UTC time) as the naive UTC instant it starts at, or the 400."""
    if _DATE.fullmatch(raw):
        try:
            return datetime.fromisoformat(raw.removesuffix("Z"))  # a real day and time of day
        except ValueError:
            pass
    raise invalid(name, "must be a date (2026-01-31) or an ISO 8601 UTC time ending in Z", raw)


def text(request: Params, name: str, *, max_chars: int) -> str | None:
    """A filter value: 1 to `max_chars` characters (an empty one would match nothing)."""
    raw = _raw(request, name)
    if raw is None:
        return None
    if not 1 <= len(raw) <= max_chars:
        raise invalid(name, f"must be 1 to {max_chars} characters")
    return raw


def cursor(request: Params) -> str | None:
    """The opaque `cursor` (shared.cursors opens it); empty means the first page."""
    return _raw(request, "cursor") or None
