"""Messages out of a span's attributes: the flat form (`gen_ai.prompt.N.*`, `llm.prompts.N.*`)
and the GenAI semantic conventions' structured form (`gen_ai.input.messages`: messages of
parts), each read into a Message."""

from __future__ import annotations

from typing import Any

import pydantic_core

from shared.fields import MAX_ID_CHARS
from shared.otel.attributes import INDEX_OUT_OF_RANGE, Unstorable, index_value, json_in_attribute
from shared.otel.models import Message, SpanRejected, SpanView, where
from shared.otel.policy import (
    MAX_ATTRIBUTE_BYTES,
    MAX_MESSAGES_PER_SPAN,
    MAX_TOOL_CALLS_PER_MESSAGE,
)


def flat_messages(span: SpanView) -> dict[tuple[bool, int], dict[str, Any]]:
    """(is a completion, index) → that message's fields. `gen_ai.*` wins over the older
    `llm.*` when a span has both."""
    messages = span.flat.get("gen_ai") or span.flat.get("llm") or {}
    if len(messages) > MAX_MESSAGES_PER_SPAN:
        raise too_many_messages(span, len(messages))
    highest = max((index for _, index in messages), default=0)
    if highest >= MAX_MESSAGES_PER_SPAN:
        shown = "of more than 9 digits" if highest >= INDEX_OUT_OF_RANGE else f"{highest:,}"
        raise SpanRejected(
            f"{where(span)}: carries a message at index {shown}; the limit is "
            f"{MAX_MESSAGES_PER_SPAN:,} messages per span (index 0 to {MAX_MESSAGES_PER_SPAN - 1})"
        )
    return messages


def flat_message(span: SpanView, fields: dict[str, Any], default_role: str) -> Message:
    role = fields.get("role")
    content = fields.get("content")
    if content is not None:
        check_size(span, "content", content)
    text = content if isinstance(content, str) else ("" if content is None else json_text(content))
    blocks: list[dict[str, Any]] = []
    if len(fields) > 2 or "content" not in fields:
        tool_calls: dict[int, dict[str, Any]] = {}
        for name, value in fields.items():
            if name.startswith("tool_calls."):
                index, _, key = name[len("tool_calls.") :].partition(".")
                if index.isdecimal() and key:
                    number = index_value(index)
                    if number >= MAX_TOOL_CALLS_PER_MESSAGE:
                        raise SpanRejected(
                            f"{where(span)}: tool_calls.{index[:12]}{'…' * (len(index) > 12)} "
                            f"is out of range; the limit is {MAX_TOOL_CALLS_PER_MESSAGE:,} tool "
                            f"calls per message (index 0 to {MAX_TOOL_CALLS_PER_MESSAGE - 1})"
                        )
                    tool_calls.setdefault(number, {})[key] = value
        for _, call in sorted(tool_calls.items()):
            blocks.append(tool_use(span, call.get("id"), call.get("name"), call.get("arguments")))
        if (call_id := fields.get("tool_call_id")) is not None:
            blocks.append({"type": "tool_result", "tool_use_id": str(call_id), "content": text})
    finish = fields.get("finish_reason")
    return Message(
        role if isinstance(role, str) and role else default_role,
        text,
        blocks,
        finish[:MAX_ID_CHARS] if isinstance(finish, str) else None,
    )


def message_list(span: SpanView, attrs: dict[str, Any], key: str) -> list[Any]:
    if key not in attrs:
        return []
    value = json_value(span, attrs, key)
    if not isinstance(value, list):
        raise SpanRejected(f"{where(span)}: {key} must be an array of messages")
    return value


def structured_message(span: SpanView, raw: Any, at: str, default_role: str) -> Message:
    if not isinstance(raw, dict):
        raise SpanRejected(f"{where(span)}: {at} must be an object with role and parts")
    role = raw.get("role")
    parts = raw.get("parts", [])
    if not isinstance(parts, list):
        raise SpanRejected(f"{where(span)}: {at}.parts must be an array")
    message = parts_message(
        span, role if isinstance(role, str) and role else default_role, parts, at
    )
    finish = raw.get("finish_reason")
    message.finish_reason = finish[:MAX_ID_CHARS] if isinstance(finish, str) else None
    return message


def parts_message(span: SpanView, role: str, parts: list[Any], at: str) -> Message:
    texts: list[str] = []
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            raise SpanRejected(f"{where(span)}: {at} has a part that is not an object")
        kind = part.get("type")
        if kind == "text":
            text = part.get("content")
            text = text if isinstance(text, str) else ""
            texts.append(text)
            blocks.append({"type": "text", "text": text})
        elif kind == "tool_call":
            blocks.append(tool_use(span, part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":
            response = part.get("response", part.get("result"))
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": str(part.get("id") or ""),
                    "content": maybe_json(response),
                }
            )
        elif kind == "reasoning":
            thought = part.get("content")
            blocks.append({"type": "thinking", "text": thought if isinstance(thought, str) else ""})
        else:  # blob, uri, file and future part types: kept as sent
            blocks.append(dict(part))
    text = "\n".join(texts)
    # A message of one text part is plain text; anything richer keeps its blocks.
    if len(blocks) == 1 and blocks[0].get("type") == "text":
        blocks = []
    return Message(role, text, blocks)


def tool_use(span: SpanView, call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if arguments is not None:
        check_size(span, "tool call arguments", arguments)
    return {
        "type": "tool_use",
        "tool_name": str(name or ""),
        "tool_use_id": str(call_id or ""),
        "input": maybe_json(arguments) if arguments is not None else {},
    }


def too_many_messages(span: SpanView, count: int) -> SpanRejected:
    return SpanRejected(
        f"{where(span)}: carries {count:,} messages; the limit is "
        f"{MAX_MESSAGES_PER_SPAN:,} messages per span"
    )


def check_size(span: SpanView, key: str, value: Any) -> None:
    if isinstance(value, str) and len(value) * 4 > MAX_ATTRIBUTE_BYTES:
        size = len(value.encode())
        if size > MAX_ATTRIBUTE_BYTES:
            raise SpanRejected(
                f"{where(span)}: {key} is {size:,} bytes; the limit is "
                f"{MAX_ATTRIBUTE_BYTES:,} bytes per attribute"
            )


def json_value(span: SpanView, attrs: dict[str, Any], key: str) -> Any:
    """Structured attributes come as JSON text (most SDKs) or as OTLP arrays/maps."""
    value = attrs[key]
    if not isinstance(value, str):
        return value
    check_size(span, key, value)
    try:
        return json_in_attribute(value)
    except Unstorable as exc:
        raise SpanRejected(f"{where(span)}: {key} {exc}") from None
    except ValueError:
        raise SpanRejected(f"{where(span)}: {key} is not valid JSON") from None


def maybe_json(value: Any) -> Any:
    """Tool arguments and results: JSON objects and arrays sent as text are stored parsed; text
    that is not JSON, or JSON that could not be stored parsed (nested too deep, a number too
    large), is stored as the text sent."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json_in_attribute(value)
        except ValueError:
            return value
    return value


def json_text(value: Any) -> str:
    return pydantic_core.to_json(value).decode()
