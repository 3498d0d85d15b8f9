"""The `content` field of a create (both formats) into messages, and messages back
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

from pydantic import ValidationError

from shared.body import parse_json
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
    # Parsed by the request body's own rules (finite numbers — 1e400 is not stored as
    # Infinity —, no lone surrogates, the body's depth limit), so what it holds is stored and
    # read back like anything sent in a body.
    try:
        data = parse_json(content.encode())
    except BadRequest as exc:
        syntax = exc.message.removeprefix("Request body is not valid JSON: ")
        if syntax != exc.message:
            raise _invalid(f"starts with '{{' but is not valid JSON ({syntax})") from None
        raise _invalid(exc.message.replace("Request body", "the JSON form")) from None
    if not isinstance(data, dict):
        raise _invalid("the JSON form must be an object with a 'messages' array")
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
