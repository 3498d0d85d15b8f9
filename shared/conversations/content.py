"""The `content` field of a create (seed 004, both formats) into messages, and messages back
into the `content` rendering.

- JSON form: a string whose first non-blank character is `{`, holding `{"messages": [...],
  "metadata": {...}?}`.
- Text form: turns start with a role label at the start of a line — `User`/`Assistant`,
  `Human`/`AI`, `Customer`/`Agent` (plus `System` and `Tool`, so a rendering parses back),
  case-insensitive, followed by `:`. A turn runs until the next label, so it may span lines.
  Windows (CRLF) and old Mac (CR) newlines are read as `\n`. Text before the first label is kept
  as a `system` message (context, said by neither party); a label with no text is skipped.
  Content without any label is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pydantic_core
from pydantic import ValidationError

from shared.body import MAX_JSON_DEPTH, nesting_depth
from shared.conversations.models import Message, StructuredContent, validation_details
from shared.errors import BadRequest

_ROLES = {
    "user": "user",
    "human": "user",
    "customer": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "agent": "assistant",
    "system": "system",
    "tool": "tool",
}
_LABEL = re.compile(
    r"^[ \t]*(" + "|".join(_ROLES) + r")[ \t]*:[ \t]*", re.IGNORECASE | re.MULTILINE
)
_RENDER_LABELS = {"user": "User", "assistant": "Assistant", "system": "System", "tool": "Tool"}


@dataclass(frozen=True)
class ParsedContent:
    messages: list[Message]
    metadata: dict[str, Any] | None = None


def _invalid(problem: str, details: dict[str, str] | None = None) -> BadRequest:
    return BadRequest(f"Invalid content: {problem}", details=details or {"content": problem})


def parse_content(content: str) -> ParsedContent:
    if content.lstrip().startswith("{"):
        return _parse_structured(content)
    turns = split_turns(content)
    return ParsedContent([Message.model_validate({"role": r, "content": t}) for r, t in turns])


def _parse_structured(content: str) -> ParsedContent:
    try:
        data = pydantic_core.from_json(content, allow_inf_nan=False)
    except ValueError as exc:
        raise _invalid(f"starts with '{{' but is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _invalid("the JSON form must be an object with a 'messages' array")
    # JSON decoded from inside a field: held to the body's depth rule, so what is stored from
    # it (its metadata, wrapped into the conversation's) always reads back.
    if nesting_depth(data) > MAX_JSON_DEPTH:
        raise _invalid(f"the JSON form nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = StructuredContent.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(
            "Invalid content", details=validation_details(exc, prefix="content")
        ) from None
    return ParsedContent(parsed.messages, parsed.metadata)


def split_turns(text: str) -> list[tuple[str, str]]:
    """(role, text) for each labelled turn of a plain-text transcript."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    labels = list(_LABEL.finditer(text))
    if not labels:
        raise _invalid(
            "no role labels found: start each turn on its own line with 'User:' or "
            "'Assistant:' (or Human/AI, Customer/Agent), or send the JSON form"
        )
    turns: list[tuple[str, str]] = []
    preamble = _trim(text[: labels[0].start()])
    if preamble:
        turns.append(("system", preamble))
    ends = [m.start() for m in labels[1:]] + [len(text)]
    for label, end in zip(labels, ends, strict=True):
        body = _trim(text[label.end() : end])
        if body:
            turns.append((_ROLES[label.group(1).lower()], body))
    return turns


def _trim(turn: str) -> str:
    """Without blank lines around it and trailing spaces; inner lines stay as sent."""
    lines = turn.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines).rstrip()


def render_line(message: dict[str, Any]) -> str:
    return f"{_RENDER_LABELS[message['role']]}: {message.get('content', '')}"


def render(messages: list[dict[str, Any]]) -> str:
    """`content` as returned: one `Label: text` turn per message, in order."""
    return "\n".join(render_line(m) for m in messages)
