"""Event models of `/v1/ingest` and `/v1/ingest/multi` (the replaced APIs' event
shapes, docs/ingest-api.md).

`/multi` differs from `/v1/ingest` only where the replaced API does: a tool call must carry its
request and response, and an email threads by `inReplyTo`. Those two are subclasses here; the
endpoints' tables of models live in shared.ingest.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.fields import ChatRole, DurationSeconds, Identifier, TokenCount, invalid
from shared.ingest.records import (
    IngestEvent,
    Record,
    RecordContext,
    content_record_id,
    record_id,
    send_record_id,
)

# Content blocks: the required fields (and their JSON types) of the block types `/v1/ingest`
# defines (below).
# Unknown block types are kept as sent.
_BLOCK_FIELDS: dict[str, dict[str, type | tuple[type, ...] | None]] = {
    "text": {"text": str},
    "thinking": {"text": str},
    "tool_use": {"tool_name": str, "tool_use_id": str, "input": None},
    "tool_result": {"tool_use_id": str, "content": None},
    "image": {"source": None},
}
_TOOL_BLOCK_TYPES = frozenset({"tool_use", "vogent_tool_call"})


def _check_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if not isinstance(kind, str):
            raise invalid(f"item {i} needs a string 'type'")
        for name, json_type in _BLOCK_FIELDS.get(kind, {}).items():
            if name not in block:
                raise invalid(f"item {i} ({kind}) missing '{name}'")
            if json_type is not None and not isinstance(block[name], json_type):
                raise invalid(f"item {i} ({kind}): '{name}' must be a string")
        if kind == "tool_result" and not isinstance(block.get("is_error", False), bool):
            raise invalid(f"item {i} (tool_result): 'is_error' must be a boolean")
    return blocks


ContentBlocks = Annotated[list[dict[str, Any]], AfterValidator(_check_blocks)]


def has_tool_block(blocks: list[dict[str, Any]] | None) -> bool:
    return any(block.get("type") in _TOOL_BLOCK_TYPES for block in blocks or ())


def block_texts(field: str, blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Every text a list of content blocks carries, for the per-message limit: `text` and
    `thinking` blocks, and a `tool_result`'s content, as a string or as text parts."""
    texts = []
    for i, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text" or kind == "thinking":
            texts.append((f"{field}[{i}].text", block["text"]))
        elif kind == "tool_result":
            content = block["content"]
            if isinstance(content, str):
                texts.append((f"{field}[{i}].content", content))
            elif isinstance(content, list):
                texts += [
                    (f"{field}[{i}].content[{j}].text", part["text"])
                    for j, part in enumerate(content)
                    if isinstance(part, dict) and isinstance(part.get("text"), str)
                ]
    return texts


class StandardEvent(IngestEvent):
    """A chat turn (no `messageType`): snake_case fields, as `/v1/ingest` takes them."""

    message_type: ClassVar[str] = "chat"
    copied_fields: ClassVar[tuple[str, ...]] = (
        "trace_id",
        "user_id",
        "model",
        "provider",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "prompt_id",
        "prompt_name",
        "prompt_version",
        "metadata",
    )

    id: Identifier | None = None
    conversation_id: Identifier
    role: ChatRole
    message: str | None = None
    content: str | ContentBlocks | None = None
    content_blocks: ContentBlocks | None = None
    trace_id: str | None = None
    user_id: str | None = None
    input_tokens: TokenCount | None = None
    output_tokens: TokenCount | None = None
    reasoning_tokens: TokenCount | None = None
    model: str | None = None
    provider: str | None = None
    prompt_id: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _has_text(self) -> StandardEvent:
        if self.message is None and self.content is None:
            raise invalid("missing 'message' or 'content'")
        return self

    def _text_and_blocks(self) -> tuple[str, list[dict[str, Any]] | None]:
        fields = self.__dict__  # plain dict reads: this runs once per event
        content, blocks, message = fields["content"], fields["content_blocks"], fields["message"]
        if isinstance(content, list):
            text = "\n".join([b["text"] for b in content if b.get("type") == "text"])
            if blocks is None:
                blocks = content
        else:
            text = content or ""
        return (message if message is not None else text), blocks

    def texts(self) -> list[tuple[str, str]]:
        # Each place text arrives, then the message as stored (text blocks joined).
        texts = [] if self.message is None else [("message", self.message)]
        if isinstance(self.content, str):
            texts.append(("content", self.content))
        elif self.content is not None:
            texts += block_texts("content", self.content)
            if self.message is None:
                texts.append(("content", self._text_and_blocks()[0]))
        if self.content_blocks is not None:
            texts += block_texts("content_blocks", self.content_blocks)
        return texts

    def texts_in_records(self) -> bool:
        # The message, the joined text and `content_blocks` are stored; `content` is not when
        # it lost to them: a string to `message`, a list of blocks to `content_blocks`.
        content = self.content
        if content is None:
            return True
        return self.content_blocks is None if isinstance(content, list) else self.message is None

    def to_records(self, ctx: RecordContext) -> list[Record]:
        # The id rule (docs/guarantees.md): the client's id, else its timestamp and content,
        # else the send this event came in.
        fields = self.__dict__
        if (key := fields["id"]) is not None:
            rid = record_id(ctx.tenant_id, "chat", key)
        elif fields["timestamp"] is not None:
            rid = content_record_id(ctx, "chat")
        else:
            rid = send_record_id(ctx, "chat")
        record = self.new_record(
            ctx, record_id=rid, conversation_id=fields["conversation_id"], source="chat"
        )
        text, blocks = self._text_and_blocks()
        record["role"] = fields["role"]
        record["message"] = text
        if blocks is not None:
            record["content_blocks"] = blocks
            record["has_tool_use"] = has_tool_block(blocks)
        return [record]


class ChannelSpecificEvent(IngestEvent):
    """Fields every `messageType` event shares (camelCase on the wire)."""

    type_tag: str = Field(alias="messageType")  # declared so it is not kept as `extra`
    id: Identifier
    user_id: str | None = Field(None, alias="userId")
    metadata: dict[str, Any] | None = None
    copied_fields: ClassVar[tuple[str, ...]] = ("user_id", "metadata")

    def texts_in_records(self) -> bool:
        # A channel message and an email body are the record's `message`; a call's turns are
        # in its transcript block; a tool call has no text.
        return True

    def _record(self, ctx: RecordContext, conversation_id: str) -> Record:
        return self.new_record(
            ctx,
            record_id=record_id(ctx.tenant_id, self.message_type, self.id),
            conversation_id=conversation_id,
            source=self.message_type,
        )


class ChannelEvent(ChannelSpecificEvent):
    message_type: ClassVar[str] = "channel"
    label: ClassVar[str] = "Channel message"

    conversation_id: Identifier = Field(alias="conversationId")
    message: str
    role: ChatRole

    def texts(self) -> list[tuple[str, str]]:
        return [("message", self.message)]

    def to_records(self, ctx: RecordContext) -> list[Record]:
        record = self._record(ctx, self.conversation_id)
        record["role"] = self.role
        record["message"] = self.message
        return [record]


class ToolCallEvent(ChannelSpecificEvent):
    """On `/v1/ingest` the request and response payloads are optional."""

    message_type: ClassVar[str] = "tool_call"
    label: ClassVar[str] = "Tool call"

    conversation_id: Identifier = Field(alias="conversationId")
    name: str
    tool_call_request: Any = Field(None, alias="toolCallRequest")
    tool_call_response: Any = Field(None, alias="toolCallResponse")

    def to_records(self, ctx: RecordContext) -> list[Record]:
        record = self._record(ctx, self.conversation_id)
        record["tool_name"] = self.name
        record["has_tool_use"] = True
        # A payload sent as null is kept as null; one never sent stays absent.
        for name in ("tool_call_request", "tool_call_response"):
            if name in self.model_fields_set:
                record[name] = getattr(self, name)
        return [record]


class StrictToolCallEvent(ToolCallEvent):
    """On `/multi` both payload keys must be present; any JSON value, null included."""

    tool_call_request: Any = Field(alias="toolCallRequest")
    tool_call_response: Any = Field(alias="toolCallResponse")


EmailRole = Literal["user", "assistant"]


class _Email(ChannelSpecificEvent):
    message_type: ClassVar[str] = "email"
    label: ClassVar[str] = "Email"
    copied_fields: ClassVar[tuple[str, ...]] = (
        "user_id",
        "metadata",
        "email_subject",
        "email_from",
        "email_to",
    )

    body: str
    email_subject: str | None = Field(None, alias="subject")
    email_from: str | None = Field(None, alias="from")
    email_to: list[str] | None = Field(None, alias="to")

    def texts(self) -> list[tuple[str, str]]:
        return [("body", self.body)]

    def _email_record(
        self, ctx: RecordContext, conversation_id: str, role: str | None, in_reply_to: str | None
    ) -> list[Record]:
        record = self._record(ctx, conversation_id)
        record["message"] = self.body
        if role is not None:
            record["role"] = role
        if in_reply_to is not None:
            record["in_reply_to"] = in_reply_to
        return [record]


class EmailEvent(_Email):
    """`/v1/ingest`: grouped by `conversationId`; `inReplyTo` optionally names a parent email."""

    conversation_id: Identifier = Field(alias="conversationId")
    role: EmailRole
    in_reply_to: str | None = Field(None, alias="inReplyTo")

    def to_records(self, ctx: RecordContext) -> list[Record]:
        return self._email_record(ctx, self.conversation_id, self.role, self.in_reply_to)


class ThreadedEmailEvent(_Email):
    """`/multi`: `inReplyTo` is the thread and becomes `conversation_id`; a `conversationId`
    sent anyway is kept under `extra`; `role` is stored only when sent."""

    in_reply_to: Identifier = Field(alias="inReplyTo")
    role: EmailRole | None = None

    def to_records(self, ctx: RecordContext) -> list[Record]:
        return self._email_record(ctx, self.in_reply_to, self.role, self.in_reply_to)


class CallTurn(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    role: str
    content: str
    timestamp: str | None = None


class CallEvent(ChannelSpecificEvent):
    """One record for the whole call: the transcript rendered as text plus its turns as a block."""

    message_type: ClassVar[str] = "call"
    label: ClassVar[str] = "Call"
    copied_fields: ClassVar[tuple[str, ...]] = ("user_id", "metadata", "duration", "call_type")

    conversation_id: Identifier = Field(alias="conversationId")
    transcript: list[CallTurn]
    duration: DurationSeconds | None = None
    call_type: Literal["phone", "video", "voice"] | None = Field(None, alias="callType")

    def texts(self) -> list[tuple[str, str]]:
        return [
            (f"transcript[{i}].content", turn.content) for i, turn in enumerate(self.transcript)
        ]

    def to_records(self, ctx: RecordContext) -> list[Record]:
        record = self._record(ctx, self.conversation_id)
        record["message"] = "\n".join(f"{t.role}: {t.content}" for t in self.transcript)
        turns = [t.model_dump(exclude_none=True) for t in self.transcript]
        record["content_blocks"] = [{"type": "call_transcript", "transcript": turns}]
        return [record]
