"""Request models of the runs family, as the `converra` SDK sends them.

Top-level keys are camelCase (the SDK always writes them so). Message keys are camelCase when
the SDK serialized its own dataclasses and whatever the caller wrote when it passed plain
dicts, so `tool_calls`, `latency_ms` and `usage.prompt_tokens`/`completion_tokens` are read as
their camelCase twins (sending both spellings of one key is a 400: which one is meant?).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.fields import Identifier, Timestamp, TokenCount, invalid

MessageRole = Literal["user", "assistant", "system", "tool"]
RunStatus = Literal["active", "in_progress", "completed", "abandoned"]
AppendStatus = Literal["active", "completed"]

# Roles whose turn may carry no text: a tool result's details live in `toolCalls`, and the
# SDK's capture of a completion that only called tools records the reply as "".
EMPTY_CONTENT_ROLES = frozenset({"tool", "assistant"})

_MESSAGE_SNAKE_KEYS = {"tool_calls": "toolCalls", "latency_ms": "latencyMs"}
_USAGE_SNAKE_KEYS = {"prompt_tokens": "promptTokens", "completion_tokens": "completionTokens"}

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


class Usage(BaseModel):
    """Token usage of one turn. Other keys a provider reports (`total_tokens`, …) are kept."""

    model_config = ConfigDict(strict=True, extra="allow")

    promptTokens: TokenCount | None = None
    completionTokens: TokenCount | None = None

    @model_validator(mode="before")
    @classmethod
    def _snake_case(cls, value: Any) -> Any:
        return _camel_keys(value, _USAGE_SNAKE_KEYS)


class RunMessage(BaseModel):
    model_config = _STRICT

    role: MessageRole
    content: str
    timestamp: Timestamp | None = None
    model: str | None = None
    tokens: TokenCount | None = None
    # Kept as sent: the SDK's {name, arguments, id?, result?, nestedTrace?} or a provider's own.
    toolCalls: list[dict[str, Any]] | None = None
    usage: Usage | None = None
    latencyMs: Annotated[float, Field(ge=0)] | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _snake_case(cls, value: Any) -> Any:
        return _camel_keys(value, _MESSAGE_SNAKE_KEYS)

    @model_validator(mode="after")
    def _has_text(self) -> RunMessage:
        if not self.content and self.role not in EMPTY_CONTENT_ROLES:
            raise invalid(f"content must not be empty for a {self.role} message")
        return self


class ToolDefinition(BaseModel):
    """A declared tool's contract, as the SDK's `ToolDefinition` serializes it."""

    model_config = _STRICT

    name: Annotated[str, Field(min_length=1)]
    description: str | None = None
    parameters: dict[str, Any] | None = None


class RunCreate(BaseModel):
    """`POST /api/v1/runs`: `converra.send()` without a conversation id, or a captured call."""

    model_config = _STRICT

    agentName: Identifier | None = None
    agentId: Identifier | None = None
    content: str | None = None
    messages: list[RunMessage] | None = None
    status: RunStatus = "completed"
    llmModel: str | None = None
    userId: str | None = None
    sessionId: str | None = None
    title: str | None = None
    traceId: str | None = None
    parentTraceId: str | None = None
    toolDefinitions: list[ToolDefinition] | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _has_conversation(self) -> RunCreate:
        if not self.messages and not self.content and self.status != "active":
            raise invalid("send 'messages' or 'content' (only an 'active' run may start empty)")
        return self


class RunAppend(BaseModel):
    """`POST /api/v1/runs/{id}/messages`: `converra.send(..., conversation_id=id)`."""

    model_config = _STRICT

    messages: Annotated[list[RunMessage], Field(min_length=1)]
    status: AppendStatus | None = None
    sessionId: str | None = None
    toolDefinitions: list[ToolDefinition] | None = None
    metadata: dict[str, Any] | None = None


class AgentMatch(BaseModel):
    """`POST /api/v1/sdk/agents/match`: a system prompt the SDK wants an agent for."""

    model_config = _STRICT

    content: str
