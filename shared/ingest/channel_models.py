"""Typed event models of `/v1/ingest` and `/v1/ingest/multi`: events with a `messageType`
(channel, tool_call, email, call; the replaced APIs' event shapes, docs/ingest-api.md).

`/multi` differs from `/v1/ingest` only where the replaced API does: a tool call must carry its
request and response, and an email threads by `inReplyTo`. Those two are subclasses here; the
endpoints' tables of models live in shared.ingest.policies, which imports this module when a
function meets its first typed event (a cold start whose first request holds chat events only
does not build these classes).
"""

# No `from __future__ import annotations` in this module: pydantic would compile every field's
# annotation from its string when the class is made (docs/performance.md).
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.fields import ChatRole, DurationSeconds, Identifier
from shared.ingest.records import IngestEvent, Record, RecordContext, record_id


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
