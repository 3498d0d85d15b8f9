"""From OTLP spans to Parley records (the table in README "Send OpenTelemetry").

A span becomes records in three shapes:
- messages (`message_source: chat`): Moda/OpenLLMetry flat attributes (`gen_ai.prompt.N.*`,
  `gen_ai.completion.N.*`, `llm.prompts.N.*`, `llm.completions.N.*`), or the current GenAI
  semantic conventions (`gen_ai.input.messages`, `gen_ai.output.messages`,
  `gen_ai.system_instructions`, on the span or its `gen_ai.client.inference.operation.details`
  event);
- tool calls (`tool_call`): `execute_tool` spans (`gen_ai.tool.*`) and Moda's `vapi.tool.*`;
- calls (`call`): Moda's `vapi.call` span.
Spans with none of these carry no GenAI data and are skipped.

Exactly once: a model call resends the whole history, so a message's id is derived from its
conversation, its position in that history and its content. The same message carried again by a
later span gets the same id; a turn really repeated later sits at another position and is kept.
Prompt messages are `history`: written only when not stored yet, so they never overwrite the
completion that first stored them (with its tokens and model).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pydantic_core

from shared.fields import DEFAULT_ENVIRONMENT, MAX_ID_CHARS, format_timestamp
from shared.ingest.records import Record, record_id
from shared.otel.policy import (
    MAX_ATTRIBUTE_BYTES,
    MAX_CONTENT_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGES_PER_SPAN,
)

# Where a span names its conversation, first match wins; else its trace's, else the trace id.
CONVERSATION_KEYS = ("moda.conversation_id", "gen_ai.conversation.id", "session.id")
USER_KEYS = ("moda.user_id", "user.id", "enduser.id")
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.vendor")
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
REASONING_TOKEN_KEYS = ("gen_ai.usage.reasoning_tokens", "llm.usage.reasoning_tokens")
OPERATION_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
STRUCTURED_KEYS = ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions")

_ENVIRONMENT_ALIASES = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "development": "development",
    "dev": "development",
    "local": "development",
}


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


# -- reading OTLP -------------------------------------------------------------------------------


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as plain Python (bytes as base64 text, as the JSON encoding has them)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def span_attributes(key_values: Any) -> tuple[dict[str, Any], FlatMessages]:
    """A span's attributes, with the flat message ones grouped by message (one pass: a span
    that resends a long history has thousands of them)."""
    found: dict[str, Any] = {}
    flat: FlatMessages = {}
    parsed_keys = _FLAT_KEYS
    for kv in key_values:
        key = kv.key
        value = kv.value
        # Most attributes are strings: read them without the general conversion.
        text = value.string_value
        plain = text if text or value.WhichOneof("value") == "string_value" else None
        parsed = parsed_keys.get(key, _UNPARSED)
        if parsed is _UNPARSED:
            parsed = _parse_flat_key(key)
        if parsed is None:
            found[key] = any_value(value) if plain is None else plain
            continue
        family, slot, name = parsed
        messages = flat.get(family)
        if messages is None:
            messages = flat[family] = {}
        fields = messages.get(slot)
        if fields is None:
            fields = messages[slot] = {}
        fields[name] = any_value(value) if plain is None else plain
    return found, flat


# Attribute keys repeat from span to span: each is matched once (bounded, for hostile keys).
_FLAT_KEYS: dict[str, tuple[str, tuple[bool, int], str] | None] = {}
_UNPARSED = ("", (False, 0), "")


def _parse_flat_key(key: str) -> tuple[str, tuple[bool, int], str] | None:
    """`gen_ai.prompt.3.content` → ("gen_ai", (False, 3), "content"); None for other keys."""
    parts = _FLAT_KEY.match(key)
    parsed = None
    if parts is not None:
        prefix, index, name = parts.groups()
        family, is_completion = _FLAT_KINDS[prefix]
        parsed = (family, (is_completion, int(index)), name)
    if len(_FLAT_KEYS) >= 65_536:
        _FLAT_KEYS.clear()
    _FLAT_KEYS[key] = parsed
    return parsed


def attributes(key_values: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for kv in key_values:
        value = kv.value
        # Most attributes are strings: read them without the general conversion's calls.
        if value.WhichOneof("value") == "string_value":
            found[kv.key] = value.string_value
        else:
            found[kv.key] = any_value(value)
    return found


def spans(request: Any) -> Iterator[SpanView]:
    """Every span of an ExportTraceServiceRequest, with its resource."""
    index = 0
    for resource_spans in request.resource_spans:
        resource_attributes = attributes(resource_spans.resource.attributes)
        service = resource_attributes.get("service.name")
        resource = Resource(resource_attributes, service if isinstance(service, str) else None)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                plain, flat = span_attributes(span.attributes)
                yield SpanView(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    attributes=plain,
                    flat=flat,
                    events=[(event.name, attributes(event.attributes)) for event in span.events],
                    resource=resource,
                    index=index,
                )
                index += 1


def span_count(request: Any) -> int:
    return sum(
        len(scope_spans.spans)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )


def carries_genai(span: SpanView) -> bool:
    """Whether a span may hold GenAI data: only then is its trace's conversation looked up."""
    return (
        span.name.startswith("vapi.")
        or bool(span.flat)
        or any(key.startswith("gen_ai.") or key.startswith("llm.") for key in span.attributes)
        or any(name == OPERATION_DETAILS_EVENT for name, _ in span.events)
    )


# -- conversation ---------------------------------------------------------------------------


def explicit_conversation(span: SpanView) -> str | None:
    """The conversation a span names itself, if any. Refuses a span without valid ids: the
    trace id stands in for a missing conversation, and ids key tool calls and calls."""
    if len(span.trace_id) != 32 or not span.trace_id.strip("0"):
        raise SpanRejected(f"{_where(span)}: trace_id must be 16 bytes, not all zero")
    if len(span.span_id) != 16 or not span.span_id.strip("0"):
        raise SpanRejected(f"{_where(span)}: span_id must be 8 bytes, not all zero")
    for key in CONVERSATION_KEYS:
        value = span.attributes.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SpanRejected(f"{_where(span)}: {key} must be a string")
        conversation = str(value)
        if len(conversation) > MAX_ID_CHARS:
            raise SpanRejected(
                f"{_where(span)}: {key} is {len(conversation):,} characters; "
                f"the limit is {MAX_ID_CHARS} characters"
            )
        return conversation
    return None


# -- record ids -------------------------------------------------------------------------------


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
    elif source == "tool_call" and isinstance(call_id := metadata.get("tool_call_id"), str):
        moved["id"] = tool_call_id(tenant_id, conversation, call_id, "")
    return moved


# -- a span's records -------------------------------------------------------------------------


class _Builder:
    """Builds one span's records; common fields are computed once per span."""

    def __init__(self, span: SpanView, conversation: str, facts: RequestFacts) -> None:
        self.span = span
        self.conversation = conversation
        self.facts = facts
        attrs = span.attributes
        resource = span.resource.attributes
        environment, raw_environment = _environment(attrs, resource)
        common: Record = {
            "conversation_id": conversation,
            "trace_id": span.trace_id,
            "environment": environment,
            "received_at": facts.received_at,
            "request_id": facts.request_id,
        }
        if (user := _first_text(attrs, USER_KEYS) or _first_text(resource, USER_KEYS)) is not None:
            common["user_id"] = user
        if (model := _first_text(attrs, MODEL_KEYS)) is not None:
            common["model"] = model
        if (provider := _first_text(attrs, PROVIDER_KEYS)) is not None:
            common["provider"] = provider
        metadata: dict[str, Any] = {"otel.span_id": span.span_id, "otel.span_name": span.name}
        if span.resource.service_name is not None:
            metadata["service.name"] = span.resource.service_name
        if raw_environment is not None:
            metadata["deployment.environment"] = raw_environment
        self.common = common
        self.metadata = metadata
        self.start = _timestamp(span.start_ns, facts.received_at)
        self.end = _timestamp(span.end_ns, facts.received_at) if span.end_ns else self.start

    def record(self, rid: str, source: str, timestamp: str) -> Record:
        record: Record = {"id": rid, "message_source": source, "timestamp": timestamp}
        record.update(self.common)
        record["has_tool_use"] = False
        record["metadata"] = dict(self.metadata)
        return record

    def message(
        self, message: Message, position: str, seq: int, *, completion: bool, history: bool
    ) -> MappedRecord:
        if (
            len(message.text) * 4 > MAX_MESSAGE_BYTES
            and (size := len(message.text.encode())) > MAX_MESSAGE_BYTES
        ):
            raise SpanRejected(
                f"{_where(self.span)}: message {position} is {size:,} bytes; the limit is "
                f"{MAX_MESSAGE_BYTES:,} bytes (100 KB) per message"
            )
        content = message_content(message.role, message.text, message.blocks)
        if len(content) > MAX_CONTENT_BYTES:
            raise SpanRejected(
                f"{_where(self.span)}: message {position} is {len(content):,} bytes with its "
                f"tool calls; the limit is {MAX_CONTENT_BYTES:,} bytes per stored message"
            )
        rid = message_id(self.facts.tenant_id, self.conversation, position, content)
        record = self.record(rid, "chat", self.end if completion else self.start)
        record["metadata"]["otel.position"] = position  # with the content, rebuilds the id
        at = self.span.end_ns if completion else self.span.start_ns
        record["role"] = message.role
        record["message"] = message.text
        if message.blocks:
            record["content_blocks"] = message.blocks
            record["has_tool_use"] = any(b.get("type") == "tool_use" for b in message.blocks)
        if message.finish_reason:
            record["metadata"]["finish_reason"] = message.finish_reason
        return MappedRecord(record, history, (at, self.span.index, seq))

    def add_usage(self, record: Record) -> None:
        attrs = self.span.attributes
        for name, keys in (
            ("input_tokens", INPUT_TOKEN_KEYS),
            ("output_tokens", OUTPUT_TOKEN_KEYS),
            ("reasoning_tokens", REASONING_TOKEN_KEYS),
        ):
            value = _first(attrs, keys)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                record[name] = value


def span_records(
    span: SpanView, conversation: str, facts: RequestFacts, seen: set[Any] | None = None
) -> list[MappedRecord] | None:
    """The records of one span, None when it carries no GenAI data. Raises SpanRejected.

    `seen` (one per request) holds the history messages earlier spans of the request mapped:
    a model call resends them all, and they are skipped before any hashing."""
    attrs = span.attributes
    for event_name, event_attributes in span.events:
        if event_name == OPERATION_DETAILS_EVENT:
            attrs = {**attrs, **event_attributes}
    builder = _Builder(span, conversation, facts)
    if any(key in attrs for key in STRUCTURED_KEYS):
        return _structured(builder, attrs)
    flat = _flat_messages(span)
    if flat:
        return _conversation_records(builder, flat, set() if seen is None else seen)
    if _is_tool_span(span, attrs):
        return [_tool_call(builder, attrs)]
    if span.name == "vapi.call":
        return [_call(builder, attrs)]
    return None


def _conversation_records(
    builder: _Builder, flat: dict[tuple[bool, int], dict[str, Any]], seen: set[Any]
) -> list[MappedRecord]:
    span = builder.span
    turn = _vapi_turn(span.name)
    prompts = sorted(index for is_completion, index in flat if not is_completion)
    history_length = prompts[-1] + 1 if prompts else 0
    mapped: list[MappedRecord] = []
    new_history: list[Any] = []
    first_completion = True
    for (is_completion, index), fields in sorted(flat.items()):
        if turn is not None:  # a voice turn carries only its own messages, not the history
            position = f"turn{turn}.{'c' if is_completion else 'p'}{index}"
            history = False
        else:
            position = str(history_length + index if is_completion else index)
            history = not is_completion
            if history:
                key = _history_key(builder.conversation, position, fields)
                if key is not None:
                    if key in seen:
                        continue
                    new_history.append(key)
        seq = (history_length + index if is_completion else index) + 1
        message = _flat_message(span, fields, "assistant" if is_completion else "user")
        item = builder.message(message, position, seq, completion=is_completion, history=history)
        if is_completion and first_completion:
            builder.add_usage(item.record)
            first_completion = False
        mapped.append(item)
    seen.update(new_history)  # only now: a refused span's messages must not be skipped later
    return mapped


def _history_key(conversation: str, position: str, fields: dict[str, Any]) -> Any:
    """What identifies a history message for `seen`; None when a field is a list (unhashable:
    such a message is mapped again, and deduplicated by its id)."""
    key = (conversation, position, tuple(fields.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _structured(builder: _Builder, attrs: dict[str, Any]) -> list[MappedRecord]:
    span = builder.span
    inputs = _message_list(span, attrs, "gen_ai.input.messages")
    outputs = _message_list(span, attrs, "gen_ai.output.messages")
    if len(inputs) + len(outputs) > MAX_MESSAGES_PER_SPAN:
        raise _too_many_messages(span, len(inputs) + len(outputs))
    mapped: list[MappedRecord] = []
    if "gen_ai.system_instructions" in attrs:
        parts = _json_value(span, attrs, "gen_ai.system_instructions")
        if isinstance(parts, str):
            parts = [{"type": "text", "content": parts}]
        if not isinstance(parts, list):
            raise SpanRejected(
                f"{_where(span)}: gen_ai.system_instructions must be an array of parts"
            )
        system = _parts_message(span, "system", parts, "gen_ai.system_instructions")
        mapped.append(builder.message(system, "system", 0, completion=False, history=True))
    for index, raw in enumerate(inputs):
        message = _structured_message(span, raw, f"gen_ai.input.messages[{index}]", "user")
        mapped.append(
            builder.message(message, str(index), index + 1, completion=False, history=True)
        )
    for index, raw in enumerate(outputs):
        message = _structured_message(span, raw, f"gen_ai.output.messages[{index}]", "assistant")
        position = len(inputs) + index
        item = builder.message(message, str(position), position + 1, completion=True, history=False)
        if index == 0:
            builder.add_usage(item.record)
        mapped.append(item)
    return mapped


def _tool_call(builder: _Builder, attrs: dict[str, Any]) -> MappedRecord:
    span = builder.span
    name = _first_text(attrs, ("gen_ai.tool.name", "tool.name")) or span.name
    call_id = _first_text(attrs, ("gen_ai.tool.call.id", "tool.call_id"))
    span_key = f"{span.trace_id}:{span.span_id}"
    rid = tool_call_id(builder.facts.tenant_id, builder.conversation, call_id, span_key)
    record = builder.record(rid, "tool_call", builder.start)
    record["tool_name"] = name
    record["has_tool_use"] = True
    if call_id:
        record["metadata"]["tool_call_id"] = call_id
    for field_name, keys in (
        ("tool_call_request", ("gen_ai.tool.call.arguments", "tool.parameters")),
        ("tool_call_response", ("gen_ai.tool.call.result", "tool.result")),
    ):
        value = _first(attrs, keys)
        if value is not None:
            _check_size(span, keys[0], value)
            record[field_name] = _maybe_json(value)
    if len(pydantic_core.to_json(record)) > MAX_CONTENT_BYTES:
        raise SpanRejected(
            f"{_where(span)}: the tool call is over {MAX_CONTENT_BYTES:,} bytes once stored"
        )
    return MappedRecord(record, False, (span.start_ns, span.index, 0))


def _call(builder: _Builder, attrs: dict[str, Any]) -> MappedRecord:
    span = builder.span
    record = builder.record(
        record_id(builder.facts.tenant_id, "otel_call", f"{span.trace_id}:{span.span_id}"),
        "call",
        builder.start,
    )
    record["call_type"] = "voice"
    summary = attrs.get("vapi.analysis.summary")
    record["message"] = summary if isinstance(summary, str) else ""
    duration = attrs.get("vapi.call.duration")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        record["duration"] = duration
    for key, value in attrs.items():
        if key.startswith("vapi."):
            record["metadata"][key] = value
    if len(pydantic_core.to_json(record)) > MAX_CONTENT_BYTES:
        raise SpanRejected(
            f"{_where(span)}: the call is over {MAX_CONTENT_BYTES:,} bytes once stored"
        )
    return MappedRecord(record, False, (span.start_ns, span.index, 0))


# -- messages -------------------------------------------------------------------------------


# `<prefix>.N.<field>`; the index is bounded so a hostile key cannot make a huge int.
_FLAT_KEY = re.compile(
    r"(gen_ai\.prompt|gen_ai\.completion|llm\.prompts|llm\.completions)\.(\d{1,9})\.(.+)", re.S
)
_FLAT_KINDS = {
    "gen_ai.prompt": ("gen_ai", False),
    "gen_ai.completion": ("gen_ai", True),
    "llm.prompts": ("llm", False),
    "llm.completions": ("llm", True),
}


def _flat_messages(span: SpanView) -> dict[tuple[bool, int], dict[str, Any]]:
    """(is a completion, index) → that message's fields. `gen_ai.*` wins over the older
    `llm.*` when a span has both."""
    messages = span.flat.get("gen_ai") or span.flat.get("llm") or {}
    if len(messages) > MAX_MESSAGES_PER_SPAN:
        raise _too_many_messages(span, len(messages))
    highest = max((index for _, index in messages), default=0)
    if highest >= MAX_MESSAGES_PER_SPAN:
        raise _too_many_messages(span, highest + 1)
    return messages


def _flat_message(span: SpanView, fields: dict[str, Any], default_role: str) -> Message:
    role = fields.get("role")
    content = fields.get("content")
    if content is not None:
        _check_size(span, "content", content)
    text = content if isinstance(content, str) else ("" if content is None else _json_text(content))
    blocks: list[dict[str, Any]] = []
    if len(fields) > 2 or "content" not in fields:
        tool_calls: dict[int, dict[str, Any]] = {}
        for name, value in fields.items():
            if name.startswith("tool_calls."):
                index, _, key = name[len("tool_calls.") :].partition(".")
                if index.isdecimal() and key:
                    tool_calls.setdefault(int(index), {})[key] = value
        for _, call in sorted(tool_calls.items()):
            blocks.append(_tool_use(span, call.get("id"), call.get("name"), call.get("arguments")))
        if (call_id := fields.get("tool_call_id")) is not None:
            blocks.append({"type": "tool_result", "tool_use_id": str(call_id), "content": text})
    finish = fields.get("finish_reason")
    return Message(
        role if isinstance(role, str) and role else default_role,
        text,
        blocks,
        finish if isinstance(finish, str) else None,
    )


def _message_list(span: SpanView, attrs: dict[str, Any], key: str) -> list[Any]:
    if key not in attrs:
        return []
    value = _json_value(span, attrs, key)
    if not isinstance(value, list):
        raise SpanRejected(f"{_where(span)}: {key} must be an array of messages")
    return value


def _structured_message(span: SpanView, raw: Any, where: str, default_role: str) -> Message:
    if not isinstance(raw, dict):
        raise SpanRejected(f"{_where(span)}: {where} must be an object with role and parts")
    role = raw.get("role")
    parts = raw.get("parts", [])
    if not isinstance(parts, list):
        raise SpanRejected(f"{_where(span)}: {where}.parts must be an array")
    message = _parts_message(
        span, role if isinstance(role, str) and role else default_role, parts, where
    )
    finish = raw.get("finish_reason")
    message.finish_reason = finish if isinstance(finish, str) else None
    return message


def _parts_message(span: SpanView, role: str, parts: list[Any], where: str) -> Message:
    texts: list[str] = []
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if not isinstance(part, dict):
            raise SpanRejected(f"{_where(span)}: {where} has a part that is not an object")
        kind = part.get("type")
        if kind == "text":
            text = part.get("content")
            text = text if isinstance(text, str) else ""
            texts.append(text)
            blocks.append({"type": "text", "text": text})
        elif kind == "tool_call":
            blocks.append(_tool_use(span, part.get("id"), part.get("name"), part.get("arguments")))
        elif kind == "tool_call_response":
            response = part.get("response", part.get("result"))
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": str(part.get("id") or ""),
                    "content": _maybe_json(response),
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


def _tool_use(span: SpanView, call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    if arguments is not None:
        _check_size(span, "tool call arguments", arguments)
    return {
        "type": "tool_use",
        "tool_name": str(name or ""),
        "tool_use_id": str(call_id or ""),
        "input": _maybe_json(arguments) if arguments is not None else {},
    }


# -- helpers --------------------------------------------------------------------------------


def _where(span: SpanView) -> str:
    return f"span {span.span_id or '(no id)'} ({span.name[:80]})"


def _too_many_messages(span: SpanView, count: int) -> SpanRejected:
    return SpanRejected(
        f"{_where(span)}: carries {count:,} messages; the limit is "
        f"{MAX_MESSAGES_PER_SPAN:,} messages per span"
    )


def _check_size(span: SpanView, key: str, value: Any) -> None:
    if isinstance(value, str) and len(value) * 4 > MAX_ATTRIBUTE_BYTES:
        size = len(value.encode())
        if size > MAX_ATTRIBUTE_BYTES:
            raise SpanRejected(
                f"{_where(span)}: {key} is {size:,} bytes; the limit is "
                f"{MAX_ATTRIBUTE_BYTES:,} bytes per attribute"
            )


def _json_value(span: SpanView, attrs: dict[str, Any], key: str) -> Any:
    """Structured attributes come as JSON text (most SDKs) or as OTLP arrays/maps."""
    value = attrs[key]
    if not isinstance(value, str):
        return value
    _check_size(span, key, value)
    try:
        return pydantic_core.from_json(value)
    except ValueError:
        raise SpanRejected(f"{_where(span)}: {key} is not valid JSON") from None


def _maybe_json(value: Any) -> Any:
    """Tool arguments and results: JSON objects and arrays sent as text are stored parsed."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return pydantic_core.from_json(value)
        except ValueError:
            return value
    return value


def _json_text(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def _first_text(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    value = _first(attrs, keys)
    if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)[:MAX_ID_CHARS]


def _environment(attrs: dict[str, Any], resource: dict[str, Any]) -> tuple[str, str | None]:
    """The record environment, and the value as sent when it is not one of Parley's three."""
    raw = _first(attrs, ENVIRONMENT_KEYS) or _first(resource, ENVIRONMENT_KEYS)
    if raw is None:
        return DEFAULT_ENVIRONMENT, None
    known = _ENVIRONMENT_ALIASES.get(str(raw).strip().lower())
    if known is None:
        return DEFAULT_ENVIRONMENT, str(raw)[:MAX_ID_CHARS]
    return known, None


def _is_tool_span(span: SpanView, attrs: dict[str, Any]) -> bool:
    return (
        attrs.get("gen_ai.operation.name") == "execute_tool"
        or "gen_ai.tool.call.id" in attrs
        or (span.name.startswith("vapi.tool.") and "tool.name" in attrs)
    )


def _vapi_turn(name: str) -> str | None:
    if name.startswith("vapi.turn."):
        turn = name[len("vapi.turn.") :]
        if turn.isdecimal():
            return turn
    return None


_TIMESTAMPS: dict[int, str] = {}


def _timestamp(unix_nano: int, fallback: str) -> str:
    """Millisecond UTC timestamp of a span time (0, unset, falls back to the receive time)."""
    if unix_nano <= 0:
        return fallback
    millis = unix_nano // 1_000_000
    cached = _TIMESTAMPS.get(millis)
    if cached is None:
        try:
            cached = format_timestamp(datetime.fromtimestamp(millis / 1000, UTC))
        except (OverflowError, ValueError, OSError):
            return fallback
        if len(_TIMESTAMPS) > 4096:
            _TIMESTAMPS.clear()
        _TIMESTAMPS[millis] = cached
    return cached
