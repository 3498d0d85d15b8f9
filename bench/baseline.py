"""The floor of bar 2: pydantic validating the whole request from JSON in one Rust call.

Models are shaped like the request the handler accepts (standard chat events, channel and
tool_call events, told apart by `messageType`), with the same strictness and `extra` policy,
but none of the handler's own checks or record building.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    environment: str | None = None
    timestamp: str | None = None
    metadata: dict[str, Any] | None = None


class ChatLike(_Event):
    id: str | None = None
    conversation_id: str
    role: str
    message: str | None = None
    content: str | list[dict[str, Any]] | None = None
    content_blocks: list[dict[str, Any]] | None = None
    trace_id: str | None = None
    user_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    model: str | None = None
    provider: str | None = None
    prompt_id: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None


class ChannelLike(_Event):
    message_type: Literal["channel"] = Field(alias="messageType")
    id: str
    conversation_id: str = Field(alias="conversationId")
    role: str
    message: str
    user_id: str | None = Field(None, alias="userId")


class ToolCallLike(_Event):
    message_type: Literal["tool_call"] = Field(alias="messageType")
    id: str
    conversation_id: str = Field(alias="conversationId")
    name: str
    tool_call_request: Any = Field(None, alias="toolCallRequest")
    tool_call_response: Any = Field(None, alias="toolCallResponse")
    user_id: str | None = Field(None, alias="userId")


def _kind(value: Any) -> str:
    kind = value.get("messageType") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else "chat"


AnyEvent = Annotated[
    Annotated[ChatLike, Tag("chat")]
    | Annotated[ChannelLike, Tag("channel")]
    | Annotated[ToolCallLike, Tag("tool_call")],
    Discriminator(_kind),
]


class IngestRequest(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True)

    environment: str = "production"
    events: list[AnyEvent] = Field(min_length=1, max_length=1000)


REQUEST: TypeAdapter[IngestRequest] = TypeAdapter(IngestRequest)
