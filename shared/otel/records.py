"""From OTLP spans to Parley records (the table in docs/otlp.md).

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
conversation, its position in that history and its content (shared.otel.ids). The same message
carried again by a later span gets the same id; a turn really repeated later sits at another
position and is kept. Prompt messages are `history`: written only when not stored yet, so they
never overwrite the completion that first stored them (with its tokens and model).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic_core

from shared.fields import (
    DEFAULT_ENVIRONMENT,
    MAX_DURATION_SECONDS,
    MAX_ID_CHARS,
    MAX_TOKEN_COUNT,
    format_timestamp,
)
from shared.ingest.records import Record
from shared.otel.ids import call_id, message_content, message_id, tool_call_id
from shared.otel.messages import (
    check_size,
    flat_message,
    flat_messages,
    json_value,
    maybe_json,
    message_list,
    parts_message,
    structured_message,
    too_many_messages,
)
from shared.otel.models import MappedRecord, Message, RequestFacts, SpanRejected, SpanView, where
from shared.otel.policy import MAX_CONTENT_BYTES, MAX_MESSAGE_BYTES, MAX_MESSAGES_PER_SPAN
from shared.otel.semconv import (
    ENVIRONMENT_ALIASES,
    ENVIRONMENT_KEYS,
    INPUT_TOKEN_KEYS,
    MODEL_KEYS,
    OPERATION_DETAILS_EVENT,
    OUTPUT_TOKEN_KEYS,
    PROVIDER_KEYS,
    REASONING_TOKEN_KEYS,
    STRUCTURED_KEYS,
    TOOL_ARGUMENT_KEYS,
    TOOL_RESULT_KEYS,
    USER_KEYS,
)


class RecordBuilder:
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
        # Names are cut at 200 characters, as the ids above: they are repeated in every record.
        metadata: dict[str, Any] = {
            "otel.span_id": span.span_id,
            "otel.span_name": span.name[:MAX_ID_CHARS],
        }
        if span.resource.service_name is not None:
            metadata["service.name"] = span.resource.service_name[:MAX_ID_CHARS]
        if raw_environment is not None:
            metadata["deployment.environment"] = raw_environment
        self.start = _timestamp(span.start_ns, facts.received_at)
        self.end = _timestamp(span.end_ns, facts.received_at) if span.end_ns else self.start
        # The span's place in its trace, kept on every record it wrote: the console draws the
        # trace's span tree on a timeline from these (docs/console.md).
        if span.parent_span_id.strip("0"):
            metadata["otel.parent_span_id"] = span.parent_span_id
        if span.start_ns > 0:
            metadata["otel.start_time"] = self.start
            if span.end_ns >= span.start_ns:
                metadata["otel.duration_ms"] = round((span.end_ns - span.start_ns) / 1e6, 3)
        self.common = common
        self.metadata = metadata

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
                f"{where(self.span)}: message {position} is {size:,} bytes; the limit is "
                f"{MAX_MESSAGE_BYTES:,} bytes (100 KB) per message"
            )
        content = message_content(message.role, message.text, message.blocks)
        if len(content) > MAX_CONTENT_BYTES:
            raise SpanRejected(
                f"{where(self.span)}: message {position} is {len(content):,} bytes with its "
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
            # Counts as the ingest endpoints take them: exact in any JSON client.
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and 0 <= value <= MAX_TOKEN_COUNT
            ):
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
    builder = RecordBuilder(span, conversation, facts)
    if any(key in attrs for key in STRUCTURED_KEYS):
        return _structured(builder, attrs)
    flat = flat_messages(span)
    if flat:
        return _conversation_records(builder, flat, set() if seen is None else seen)
    if _is_tool_span(span, attrs):
        return [_tool_call(builder, attrs)]
    if span.name == "vapi.call":
        return [_call(builder, attrs)]
    return None


def _conversation_records(
    builder: RecordBuilder, flat: dict[tuple[bool, int], dict[str, Any]], seen: set[Any]
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
        message = flat_message(span, fields, "assistant" if is_completion else "user")
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


def _structured(builder: RecordBuilder, attrs: dict[str, Any]) -> list[MappedRecord]:
    span = builder.span
    inputs = message_list(span, attrs, "gen_ai.input.messages")
    outputs = message_list(span, attrs, "gen_ai.output.messages")
    if len(inputs) + len(outputs) > MAX_MESSAGES_PER_SPAN:
        raise too_many_messages(span, len(inputs) + len(outputs))
    mapped: list[MappedRecord] = []
    if "gen_ai.system_instructions" in attrs:
        parts = json_value(span, attrs, "gen_ai.system_instructions")
        if isinstance(parts, str):
            parts = [{"type": "text", "content": parts}]
        if not isinstance(parts, list):
            raise SpanRejected(
                f"{where(span)}: gen_ai.system_instructions must be an array of parts"
            )
        system = parts_message(span, "system", parts, "gen_ai.system_instructions")
        mapped.append(builder.message(system, "system", 0, completion=False, history=True))
    for index, raw in enumerate(inputs):
        message = structured_message(span, raw, f"gen_ai.input.messages[{index}]", "user")
        mapped.append(
            builder.message(message, str(index), index + 1, completion=False, history=True)
        )
    for index, raw in enumerate(outputs):
        message = structured_message(span, raw, f"gen_ai.output.messages[{index}]", "assistant")
        position = len(inputs) + index
        item = builder.message(message, str(position), position + 1, completion=True, history=False)
        if index == 0:
            builder.add_usage(item.record)
        mapped.append(item)
    return mapped


def _tool_call(builder: RecordBuilder, attrs: dict[str, Any]) -> MappedRecord:
    span = builder.span
    name = _first_text(attrs, ("gen_ai.tool.name", "tool.name")) or span.name[:MAX_ID_CHARS]
    tool_call = _first_text(attrs, ("gen_ai.tool.call.id", "tool.call_id"))
    span_key = f"{span.trace_id}:{span.span_id}"
    rid = tool_call_id(builder.facts.tenant_id, builder.conversation, tool_call, span_key)
    record = builder.record(rid, "tool_call", builder.start)
    record["tool_name"] = name
    record["has_tool_use"] = True
    if tool_call:
        record["metadata"]["tool_call_id"] = tool_call
    for field_name, keys in (
        ("tool_call_request", TOOL_ARGUMENT_KEYS),
        ("tool_call_response", TOOL_RESULT_KEYS),
    ):
        value = _first(attrs, keys)
        if value is not None:
            check_size(span, keys[0], value)
            record[field_name] = maybe_json(value)
    if len(pydantic_core.to_json(record)) > MAX_CONTENT_BYTES:
        raise SpanRejected(
            f"{where(span)}: the tool call is over {MAX_CONTENT_BYTES:,} bytes once stored"
        )
    return MappedRecord(record, False, (span.start_ns, span.index, 0))


def _call(builder: RecordBuilder, attrs: dict[str, Any]) -> MappedRecord:
    span = builder.span
    record = builder.record(
        call_id(builder.facts.tenant_id, span.trace_id, span.span_id),
        "call",
        builder.start,
    )
    record["call_type"] = "voice"
    summary = attrs.get("vapi.analysis.summary")
    record["message"] = summary if isinstance(summary, str) else ""
    duration = attrs.get("vapi.call.duration")
    # Seconds as the ingest endpoints take them (NaN and infinities fail the comparison).
    if (
        isinstance(duration, int | float)
        and not isinstance(duration, bool)
        and 0 <= duration <= MAX_DURATION_SECONDS
    ):
        record["duration"] = duration
    for key, value in attrs.items():
        if key.startswith("vapi."):
            record["metadata"][key] = value
    if len(pydantic_core.to_json(record)) > MAX_CONTENT_BYTES:
        raise SpanRejected(
            f"{where(span)}: the call is over {MAX_CONTENT_BYTES:,} bytes once stored"
        )
    return MappedRecord(record, False, (span.start_ns, span.index, 0))


# -- helpers --------------------------------------------------------------------------------


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
    known = ENVIRONMENT_ALIASES.get(str(raw).strip().lower())
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
