"""Record ids of OTLP records: derived from what they are, so a resent span rewrites its records
instead of duplicating them (docs/otlp.md, Exactly once)."""

from __future__ import annotations

import hashlib
from typing import Any

import pydantic_core

from shared.ingest.records import Record, record_id


def message_content(role: str, text: str, blocks: list[dict[str, Any]]) -> bytes:
    """What a message's id hashes: everything it says, nothing about the span carrying it."""
    return pydantic_core.to_json([role, text, blocks])


def message_id(tenant_id: str, conversation: str, position: str, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    return record_id(tenant_id, "otel", f"{conversation}\x1f{position}\x1f{digest}")


def tool_call_id(tenant_id: str, conversation: str, call_id: str | None, span_key: str) -> str:
    # A tool call id is unique in its conversation; without one the span is the call.
    key = f"{conversation}\x1f{call_id}" if call_id else span_key
    return record_id(tenant_id, "otel_tool_call", key)


def call_id(tenant_id: str, trace_id: str, span_id: str) -> str:
    return record_id(tenant_id, "otel_call", f"{trace_id}:{span_id}")


def rehomed(tenant_id: str, record: Record, conversation: str) -> Record:
    """A stored record moved to another conversation, with the id it would have had there."""
    moved = dict(record)
    moved["conversation_id"] = conversation
    metadata = record.get("metadata") or {}
    source = record.get("message_source")
    if source == "chat" and isinstance(position := metadata.get("otel.position"), str):
        content = message_content(
            record.get("role", ""), record.get("message", ""), record.get("content_blocks", [])
        )
        moved["id"] = message_id(tenant_id, conversation, position, content)
    elif source == "tool_call" and isinstance(call := metadata.get("tool_call_id"), str):
        moved["id"] = tool_call_id(tenant_id, conversation, call, "")
    return moved
