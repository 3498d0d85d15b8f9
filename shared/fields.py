"""Field types shared by every event model, each failing with a message a client can act on.

Validators raise `PydanticCustomError("parley", ...)`; `describe_error` turns any pydantic error
into one sentence of the API's wording.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import ErrorDetails, PydanticCustomError

ENVIRONMENTS = ("development", "staging", "production")
DEFAULT_ENVIRONMENT = "production"
CHAT_ROLES = ("user", "assistant", "system")
MAX_ID_CHARS = 200  # keeps DynamoDB keys (2 KB partition, 1 KB sort) within their limits


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("parley", message)


def one_of(*allowed: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise _fail(f"must be one of {', '.join(allowed)}")
        return value

    return AfterValidator(check)


def format_timestamp(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: the one format records carry."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _iso_timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _fail("must be an ISO 8601 timestamp, e.g. 2024-01-15T10:30:00Z") from None
    if moment.tzinfo is None:  # no offset: UTC by contract
        moment = moment.replace(tzinfo=UTC)
    return format_timestamp(moment)


def _non_negative_int(value: Any) -> int:
    # `type(...) is int` rejects bools, floats and numeric strings alike.
    if type(value) is not int or value < 0:
        raise _fail("must be a non-negative integer")
    return value


def _identifier(value: str) -> str:
    if not value:
        raise _fail("must not be empty")
    if len(value) > MAX_ID_CHARS:
        raise _fail(f"must be at most {MAX_ID_CHARS} characters")
    return value


Timestamp = Annotated[str, AfterValidator(_iso_timestamp)]
TokenCount = Annotated[int, BeforeValidator(_non_negative_int)]
Identifier = Annotated[str, AfterValidator(_identifier)]
Environment = Annotated[str, one_of(*ENVIRONMENTS)]
ChatRole = Annotated[str, one_of(*CHAT_ROLES)]


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
    if kind in _TYPE_NAMES:
        return f"{path} must be {_TYPE_NAMES[kind]}"
    if kind == "literal_error":
        return f"{path} must be one of {error.get('ctx', {}).get('expected', '')}".rstrip()
    return f"{path}: {error['msg']}"
