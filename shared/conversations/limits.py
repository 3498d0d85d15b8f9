"""Size limits of a conversation (docs/conversations-api.md, "Limits (conversations)"), checked
on create and on the stored conversation as a whole after an append (an append that would pass
one is refused whole)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pydantic_core

from shared.errors import PayloadTooLarge

MAX_CONTENT_BYTES = 512 * 1024  # the `content` field as sent; all messages' text together
MAX_MESSAGES = 500
MAX_MESSAGE_BYTES = 100 * 1024  # one message's `content`
# One message as stored (content plus toolCalls, usage, metadata, …): it must fit one item.
MAX_STORED_MESSAGE_BYTES = 300_000
# Every message as stored, together: a read of the conversation must fit one Lambda answer.
MAX_STORED_BYTES = 3_000_000
# metadata plus the descriptive fields (toolDefinitions, title, …) as stored: they live in the
# conversation's one summary item, which DynamoDB caps at 400 KB.
MAX_FIELDS_BYTES = 200_000


@dataclass(frozen=True)
class Sizes:
    """What the limits count, for a list of messages (added to a stored total on append)."""

    messages: int
    content_bytes: int
    stored_bytes: int


def _too_large(what: str, actual: int, limit: int, unit: str, field: str) -> PayloadTooLarge:
    text = f"{what} is {actual:,} {unit}; the limit is {limit:,} {unit}"
    return PayloadTooLarge(text, details={field: text})


def check_content_field(content: str) -> None:
    size = len(content.encode())
    if size > MAX_CONTENT_BYTES:
        raise _too_large("content", size, MAX_CONTENT_BYTES, "bytes", "content")


def measure(messages: list[dict[str, Any]], field: str = "messages") -> tuple[Sizes, list[str]]:
    """Sizes of stored-form messages, and each one's JSON (what a chunk item holds); raises
    413 for a message over its own limits."""
    content_bytes = 0
    encoded: list[str] = []
    for i, message in enumerate(messages):
        size = len(message.get("content", "").encode())
        if size > MAX_MESSAGE_BYTES:
            raise _too_large(
                f"Message {i} content", size, MAX_MESSAGE_BYTES, "bytes", f"{field}[{i}].content"
            )
        content_bytes += size
        text = pydantic_core.to_json(message).decode()
        stored = len(text.encode())
        if stored > MAX_STORED_MESSAGE_BYTES:
            raise _too_large(
                f"Message {i} with all its fields",
                stored,
                MAX_STORED_MESSAGE_BYTES,
                "bytes",
                f"{field}[{i}]",
            )
        encoded.append(text)
    stored_bytes = sum(len(t.encode()) for t in encoded)
    return Sizes(len(messages), content_bytes, stored_bytes), encoded


def check_totals(total: Sizes, field: str = "messages") -> None:
    """The whole conversation (what is stored plus what is added) against its limits."""
    if total.messages > MAX_MESSAGES:
        raise _too_large("The conversation", total.messages, MAX_MESSAGES, "messages", field)
    if total.content_bytes > MAX_CONTENT_BYTES:
        raise _too_large(
            "The conversation's content", total.content_bytes, MAX_CONTENT_BYTES, "bytes", field
        )
    if total.stored_bytes > MAX_STORED_BYTES:
        raise _too_large(
            "The conversation as stored", total.stored_bytes, MAX_STORED_BYTES, "bytes", field
        )


def check_fields(metadata: dict[str, Any], attributes: dict[str, Any]) -> None:
    size = len(pydantic_core.to_json(metadata)) + len(pydantic_core.to_json(attributes))
    if size > MAX_FIELDS_BYTES:
        raise _too_large(
            "The conversation's metadata and fields", size, MAX_FIELDS_BYTES, "bytes", "metadata"
        )
