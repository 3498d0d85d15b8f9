"""Request models of the runs family, as the `converra` SDK sends them, and the conversations
domain objects they become.

Top-level keys are camelCase (the SDK always writes them so). Message keys are camelCase when
the SDK serialized its own dataclasses and whatever the caller wrote when it passed plain
dicts, so `tool_calls`, `latency_ms` and `usage.prompt_tokens`/`completion_tokens`/
`total_tokens` are read as their camelCase twins and stored in that one spelling (sending both
spellings of one key is a 400: which one is meant?). Other message keys are kept as sent, as
on the conversations API.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from shared.conversations import limits
from shared.conversations.content import parse_content
from shared.conversations.models import (
    Message,
    NewConversation,
    Status,
    Text,
    Usage,
    check_has_messages,
)
from shared.fields import invalid

# Roles whose turn may carry no text: a tool result's details live in `toolCalls`, and the
# SDK's capture of a completion that only called tools records the reply as "" (its transport
# ignores every answer, so refusing that would lose the whole captured call unseen).
EMPTY_CONTENT_ROLES = frozenset({"tool", "assistant"})

_MESSAGE_SNAKE_KEYS = {"tool_calls": "toolCalls", "latency_ms": "latencyMs"}
_USAGE_SNAKE_KEYS = {
    "prompt_tokens": "promptTokens",
    "completion_tokens": "completionTokens",
    "total_tokens": "totalTokens",
}

_STRICT = ConfigDict(strict=True, extra="forbid")


def _camel_keys(value: Any, renames: dict[str, str]) -> Any:
    if not isinstance(value, dict) or not any(snake in value for snake in renames):
        return value
    out = dict(value)
    for snake, camel in renames.items():
        if snake in out:
            if camel in out:
                raise invalid(f"send '{camel}' or '{snake}', not both")
            out[camel] = out.pop(snake)
    return out


class RunUsage(Usage):
    """Token usage of one turn; other keys a provider reports are kept as sent."""

    @model_validator(mode="before")
    @classmethod
    def _snake_case(cls, value: Any) -> Any:
        return _camel_keys(value, _USAGE_SNAKE_KEYS)


class RunMessage(Message):
    """A conversations `Message`, also read from snake_case keys."""

    usage: RunUsage | None = None

    @model_validator(mode="before")
    @classmethod
    def _snake_case(cls, value: Any) -> Any:
        return _camel_keys(value, _MESSAGE_SNAKE_KEYS)

    @field_validator("content")
    @classmethod
    def _needs_text(cls, value: str, info: ValidationInfo) -> str:  # replaces Message's rule
        role = info.data.get("role", "tool")
        if not value.strip() and role not in EMPTY_CONTENT_ROLES:
            raise invalid(f"must not be empty for a {role} message")
        return value


class ToolDefinition(BaseModel):
    """A declared tool's contract, as the SDK's `ToolDefinition` serializes it."""

    model_config = _STRICT

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str | None = None
    parameters: dict[str, Any] | None = None


def _tool_definitions(definitions: list[ToolDefinition] | None) -> list[Any] | None:
    if definitions is None:
        return None
    return [d.model_dump(exclude_none=True) for d in definitions]


class RunCreate(BaseModel):
    """`POST /api/v1/runs`: `converra.send()` without a conversation id, or a captured call."""

    model_config = _STRICT

    agentName: Text | None = None
    agentId: Text | None = None
    content: str | None = None
    messages: list[RunMessage] | None = None
    status: Status = "completed"
    llmModel: Text | None = None
    userId: Text | None = None
    sessionId: Text | None = None
    title: Annotated[str, Field(max_length=1000)] | None = None
    traceId: Text | None = None
    parentTraceId: Text | None = None
    toolDefinitions: list[ToolDefinition] | None = None
    metadata: dict[str, Any] | None = None

    def to_new_conversation(self) -> NewConversation:
        """`messages` are the conversation when sent: the SDK's `content` is only their
        rendering, with tool turns labelled `AI:` and system turns left out. Without
        `messages`, `content` is read as on the conversations API (both formats)."""
        messages: list[Message] = list(self.messages or [])
        metadata: dict[str, Any] = {}
        has_text = bool(self.content and self.content.strip())
        if not messages and self.content and has_text:
            limits.check_content_field(self.content)
            parsed = parse_content(self.content)
            messages, metadata = parsed.messages, dict(parsed.metadata or {})
        check_has_messages(messages, self.status, "content" if has_text else "messages", "run")
        metadata |= self.metadata or {}  # the request's own metadata wins over the content's
        return NewConversation(
            messages=messages,
            status=self.status,
            llm_model=self.llmModel,
            agent_id=self.agentId,
            agent_name=self.agentName,
            user_id=self.userId,
            session_id=self.sessionId,
            title=self.title,
            trace_id=self.traceId,
            parent_trace_id=self.parentTraceId,
            tool_definitions=_tool_definitions(self.toolDefinitions),
            metadata=metadata,
        )


class RunAppend(BaseModel):
    """`POST /api/v1/runs/{id}/messages`: `converra.send(..., conversation_id=id)`."""

    model_config = _STRICT

    messages: Annotated[list[RunMessage], Field(min_length=1)]
    status: Status | None = None
    sessionId: Text | None = None
    toolDefinitions: list[ToolDefinition] | None = None
    metadata: dict[str, Any] | None = None

    def attributes(self) -> dict[str, Any]:
        """Conversation fields this append sets; each replaces the stored value."""
        values = {
            "sessionId": self.sessionId,
            "toolDefinitions": _tool_definitions(self.toolDefinitions),
        }
        return {name: value for name, value in values.items() if value is not None}
