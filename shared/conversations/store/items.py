"""The ConversationsTable's item layout (template.yaml), and conversations to and from items.

Items, all under pk "<tenant>#<conversation id>" so a tenant only ever reads its own:
  sk "META"         one per conversation: status, counts and sizes, version, metadata, the
                    descriptive fields (`doc`), the `insights` slot; gpk/gsk (tenant, id) put it
                    in the sparse GSI `by_tenant` that lists a tenant's conversations by id;
                    `heading`, the title a list shows (models.title_of: fixed once a user
                    message is stored, as messages are only ever appended)
  sk "MSG#<nnnn>"   the messages of one append (split when large), nnnn = index of its first
                    message: `msgs` (JSON array), `text` (their rendering) and, for an append,
                    `write_token` (the token marking that append's write)
Idempotency keys of creates live in the same table (claims.py); agents named by `agentName`
too (agents.py). META carries `analyzable` (true) when the conversation is linked to a prompt
or agent: the insights worker's stream filter matches on it. `expires_at` is DynamoDB TTL
(cleanup only).

Reading never fails on stored data: an item that cannot be decoded is returned as what it
holds, flagged (`decode_messages`, `from_meta`), and logged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic_core

from shared.conversations.models import (
    ROLES,
    UNDECODABLE,
    Conversation,
    ConversationSummary,
    is_analyzable,
    title_of,
)
from shared.dynamo import Item
from shared.logs import get_logger

META = "META"
MAX_CHUNK_BYTES = 350_000  # DynamoDB items stop at 400 KB

log = get_logger("conversations")


def conversation_key(tenant: str, conversation_id: str) -> str:
    return f"{tenant}#{conversation_id}"


def message_key(first_index: int) -> str:
    return f"MSG#{first_index:04d}"


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def json_attr(value: Any) -> dict[str, str]:
    # Client JSON stays exact as a string (DynamoDB maps would turn floats into Decimals).
    return {"S": pydantic_core.to_json(value).decode()}


@dataclass(frozen=True)
class Chunk:
    """Message items of one write: (first message index, JSON array text, rendering)."""

    first: int
    msgs: str
    text: str


def chunk_messages(first_index: int, encoded: list[str], lines: list[str]) -> list[Chunk]:
    """Split one append's messages into items of at most MAX_CHUNK_BYTES."""
    chunks: list[Chunk] = []
    start, size = 0, 0
    for i, text in enumerate(encoded):
        length = len(text.encode()) + len(lines[i].encode()) + 2
        if i > start and size + length > MAX_CHUNK_BYTES:
            chunks.append(_chunk(first_index + start, encoded[start:i], lines[start:i]))
            start, size = i, 0
        size += length
    if start < len(encoded):
        chunks.append(_chunk(first_index + start, encoded[start:], lines[start:]))
    return chunks


def _chunk(first: int, encoded: list[str], lines: list[str]) -> Chunk:
    return Chunk(first, "[" + ",".join(encoded) + "]", "\n".join(lines))


def meta_item(tenant: str, conversation: Conversation) -> Item:
    item: Item = {
        "pk": s(conversation_key(tenant, conversation.id)),
        "sk": s(META),
        "gpk": s(tenant),
        "gsk": s(conversation.id),
        "status": s(conversation.status),
        "created_status": s(conversation.created_status),
        "created_at": s(conversation.created_at),
        "updated_at": s(conversation.updated_at),
        "version": n(conversation.version),
        "message_count": n(conversation.message_count),
        "content_bytes": n(conversation.content_bytes),
        "stored_bytes": n(conversation.stored_bytes),
        "has_insights": {"BOOL": conversation.has_insights},
        "doc": json_attr(conversation.attributes),
        "metadata": json_attr(conversation.metadata),
    }
    if conversation.prompt_id is not None:
        item["prompt_id"] = s(conversation.prompt_id)
    if (heading := heading_of(conversation)) is not None:
        item["heading"] = s(heading)
    if is_analyzable(conversation.prompt_id, conversation.attributes):
        item["analyzable"] = {"BOOL": True}
    return item


def heading_of(conversation: Conversation) -> str | None:
    """META's `heading`: what a list shows as the conversation's title."""
    return title_of(conversation.attributes, conversation.messages)


# What a listed conversation reads of its META item, besides what the index projects.
LISTED_META_ATTRIBUTES = ("pk", "heading", "message_count", "updated_at", "doc")


def _stored_object(item: Item, name: str, conversation_id: str) -> dict[str, Any]:
    """A JSON object attribute of META; one that does not decode to an object reads as
    `{"undecodable": <its text>}` rather than failing the read."""
    text = item[name]["S"]
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    log.error("stored field not decodable", extra={"field": name, "id": conversation_id})
    return {UNDECODABLE: text}


def from_meta(item: Item) -> Conversation:
    conversation_id = item["gsk"]["S"]
    insights = None
    failure = item["insights_failure"]["S"] if "insights_failure" in item else None
    if "insights" in item:
        insights = _stored_object(item, "insights", conversation_id)
        if UNDECODABLE in insights:  # answered as an analysis that failed, never a 500
            insights, failure = None, "stored insights could not be read"
    return Conversation(
        id=conversation_id,
        status=item["status"]["S"],
        created_status=item["created_status"]["S"],
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        prompt_id=item["prompt_id"]["S"] if "prompt_id" in item else None,
        attributes=_stored_object(item, "doc", conversation_id),
        metadata=_stored_object(item, "metadata", conversation_id),
        message_count=int(item["message_count"]["N"]),
        content_bytes=int(item["content_bytes"]["N"]),
        stored_bytes=int(item["stored_bytes"]["N"]),
        version=int(item["version"]["N"]),
        has_insights=item["has_insights"]["BOOL"],
        insights=insights,
        insights_failure=failure,
    )


def summary_of(item: Item, meta: Item | None) -> ConversationSummary:
    """A listed conversation: what the index projects, and what `meta` (its META item's
    LISTED_META_ATTRIBUTES; None if it went away between the two reads) adds."""
    conversation_id = item["gsk"]["S"]
    extra: dict[str, Any] = {}
    if meta is not None:
        extra = {
            "title": meta["heading"]["S"] if "heading" in meta else None,
            "message_count": int(meta["message_count"]["N"]),
            "updated_at": meta["updated_at"]["S"],
            "attributes": _stored_object(meta, "doc", conversation_id),
        }
    return ConversationSummary(
        id=conversation_id,
        prompt_id=item["prompt_id"]["S"] if "prompt_id" in item else None,
        status=item["status"]["S"],
        has_insights=item["has_insights"]["BOOL"],
        created_at=item["created_at"]["S"],
        **extra,
    )


def decode_messages(item: Item) -> list[dict[str, Any]]:
    """The messages of one MSG item. An item whose `msgs` does not decode to an array of
    messages (each an object with a known `role`) reads as one message holding its raw text
    as `content`, flagged `"undecodable": true` — the conversation stays readable."""
    text = item["msgs"]["S"]
    try:
        messages = pydantic_core.from_json(text)
    except ValueError:
        messages = None
    if isinstance(messages, list) and all(_is_message(m) for m in messages):
        return messages
    log.error("stored messages not decodable", extra={"item": item["sk"]["S"]})
    return [{"role": "system", "content": text, UNDECODABLE: True}]


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("role") in ROLES
        and isinstance(value.get("content", ""), str)
    )
