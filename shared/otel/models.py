"""What the OTLP mapping works on: a span as read from the request, the facts of the request,
and what a span becomes (records, each with its place in the conversation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.ingest.records import Record


class SpanRejected(Exception):
    """A span that breaks a limit or carries unusable data: refused alone (partial success)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class RequestFacts:
    tenant_id: str
    request_id: str
    received_at: str


@dataclass(slots=True)
class Resource:
    """What a resource (one process) says about all its spans."""

    attributes: dict[str, Any]
    service_name: str | None


FlatMessages = dict[str, dict[tuple[bool, int], dict[str, Any]]]


@dataclass(slots=True)
class SpanView:
    trace_id: str  # hex, as OpenTelemetry shows it
    span_id: str
    parent_span_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]  # all but the flat message attributes
    # Flat message attributes (`gen_ai.prompt.N.role`…), read in the same pass:
    # family ("gen_ai", "llm") → (is a completion, index) → field → value.
    flat: FlatMessages
    events: list[tuple[str, dict[str, Any]]]
    resource: Resource
    index: int  # position in the request


@dataclass(slots=True)
class MappedRecord:
    record: Record
    history: bool  # a prompt message: stored only when no span stored it before
    # Where it belongs in its conversation, finer than the stored millisecond timestamp:
    # (span time in ns, the span's place in the request, position in the span's history).
    order: tuple[int, int, int]


@dataclass(slots=True)
class Message:
    role: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None


def where(span: SpanView) -> str:
    """How a refusal names its span."""
    return describe(span.span_id, span.name)


def describe(span_id_hex: str, name: str) -> str:
    return f"span {span_id_hex or '(no id)'} ({name[:80]})"
