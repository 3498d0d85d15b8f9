"""Field types shared by every event model, each failing with a message a client can act on.

Validators raise `PydanticCustomError("parley", ...)`; `describe_error` turns any pydantic error
into one sentence of the API's wording.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from pydantic import Field, GetPydanticSchema, PlainValidator, StringConstraints
from pydantic_core import ErrorDetails, PydanticCustomError, core_schema

from shared.errors import BadRequest

DEFAULT_ENVIRONMENT = "production"
MAX_ID_CHARS = 200  # keeps DynamoDB keys (2 KB partition, 1 KB sort) within their limits
# Numbers are bounded so none overflows arithmetic or a float, and every stored one reads back
# exactly in any JSON client (2**53 - 1 is the largest integer a JavaScript number holds).
MAX_TOKEN_COUNT = 2**53 - 1
MAX_MILLISECONDS = 10**15  # about 31,700 years
MAX_DURATION_SECONDS = 10**12  # the same span in seconds
MAX_ECHO_CHARS = 40


def invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("parley", message)


def echo(value: object) -> str:
    """A refused value as a message can quote it: short, whatever was sent."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int) and value.bit_length() > 128:  # str() of it would be huge
        return "an integer of over 38 digits"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= MAX_ECHO_CHARS else value[:MAX_ECHO_CHARS] + "…")
    return "an object" if isinstance(value, dict) else "an array"


def _bounded_number(high: int) -> PlainValidator:
    """Any JSON number from 0 to `high`, kept as sent (an int stays an int)."""

    def check(value: object) -> int | float:
        if (type(value) is int or type(value) is float) and 0 <= value <= high:  # never bool
            return value
        raise invalid(f"must be a number from 0 to {high:,} (got {echo(value)})")

    return PlainValidator(check)


_CANONICAL_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def format_timestamp(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: the one format records carry."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


TIMESTAMP_PROBLEM = "must be an ISO 8601 timestamp, e.g. 2024-01-15T10:30:00Z"
# The forms a timestamp may take: ISO 8601's extended form (a date, then optionally a time to
# the hour, minute, second or fraction, and a UTC offset), ASCII digits only. datetime's own
# parser reads far more — the basic form, week dates, any separator, fractions of any length —
# and so turned 5,000 `1`s into 1111-11-11T11:11:11.111Z: it only ever sees these shapes.
_TIMESTAMP_FORM = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)


def _iso_timestamp(value: str) -> str:
    try:
        if not _TIMESTAMP_FORM.fullmatch(value):
            raise ValueError(value)
        # The form is checked: upper case only turns RFC 3339's lower-case `t`/`z` (which
        # datetime's parser does not read) into `T`/`Z`.
        moment = datetime.fromisoformat(value.upper())
        if _CANONICAL_TIMESTAMP.fullmatch(value):  # already what we store
            return value
        if moment.tzinfo is None:  # no offset: UTC by contract
            moment = moment.replace(tzinfo=UTC)
        return format_timestamp(moment)
    except (ValueError, OverflowError):  # OverflowError: e.g. year 1 with a positive offset
        raise invalid(f"{TIMESTAMP_PROBLEM} (got {echo(value)})") from None


# A canonical timestamp on a day every month of every year has (1-28), years 0001-9999: such
# a string is one `_iso_timestamp` returns unchanged, so pydantic's compiled regex accepts it
# without a Python call (most timestamps clients send). Anything else goes through
# `_iso_timestamp`; a refusal is the `timestamp` error, worded by `describe_error` as
# `_iso_timestamp` words it. tests/unit/test_timestamps.py holds the two to each other.
_PLAIN_CANONICAL_TIMESTAMP = (
    r"^(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
    r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$"
)


def _timestamp_schema(_source: object, _handler: object) -> core_schema.CoreSchema:
    return core_schema.chain_schema(
        [
            core_schema.str_schema(strict=True),
            core_schema.union_schema(
                [
                    core_schema.str_schema(pattern=_PLAIN_CANONICAL_TIMESTAMP),
                    core_schema.no_info_plain_validator_function(_iso_timestamp),
                ],
                mode="left_to_right",
                custom_error_type="timestamp",
                custom_error_message=TIMESTAMP_PROBLEM,
            ),
        ]
    )


# Constraints and literals are checked in pydantic's compiled core: cheaper than Python
# validators on the hot path. `describe_error` words their errors.
Timestamp = Annotated[str, GetPydanticSchema(_timestamp_schema)]
# Strict mode already refuses bools, floats and strings as counts.
TokenCount = Annotated[int, Field(ge=0, le=MAX_TOKEN_COUNT)]
Milliseconds = Annotated[int | float, _bounded_number(MAX_MILLISECONDS)]
DurationSeconds = Annotated[int | float, _bounded_number(MAX_DURATION_SECONDS)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
Environment = Literal["development", "staging", "production"]
ChatRole = Literal["user", "assistant", "system"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)


def check_environment(value: object) -> str:
    """A request-level or query `environment`, or a 400 naming the allowed values."""
    if value not in ENVIRONMENTS:
        raise BadRequest(
            f"environment must be one of {', '.join(ENVIRONMENTS)} (got {echo(value)})"
        )
    return str(value)


_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "dict_type": "an object",
    "list_type": "an array",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def describe_error(error: ErrorDetails, label: str) -> str:
    """One sentence for one pydantic error, e.g. `Channel message missing 'conversationId'`."""
    path = field_path(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"{label} missing '{path}'" if label else f"missing '{path}'"
    if kind == "parley":
        return f"{path} {error['msg']}" if path else error["msg"]
    if kind == "timestamp":  # as `_iso_timestamp` words it
        problem = f"{TIMESTAMP_PROBLEM} (got {echo(error.get('input'))})"
        return f"{path} {problem}" if path else problem
    got = f" (got {echo(error.get('input'))})"
    if kind in _TYPE_NAMES:
        return f"{path} must be {_TYPE_NAMES[kind]}{got}"
    ctx = error.get("ctx", {})
    if kind == "literal_error":  # ctx: "'user', 'assistant' or 'system'"
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{path} must be one of {expected}{got}"
    if kind == "string_too_short":
        return f"{path} must not be empty"
    if kind == "string_too_long":
        return f"{path} must be at most {ctx.get('max_length')} characters"
    if kind == "greater_than_equal":
        bound = "must not be negative" if ctx.get("ge") == 0 else f"must be >= {ctx['ge']}"
        return f"{path} {bound}{got}"
    if kind == "less_than_equal":
        return f"{path} must be at most {ctx['le']:,}{got}"
    return f"{path}: {error['msg']}" if path else error["msg"]
