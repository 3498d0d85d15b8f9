"""Conversations: the domain objects the service works on, and the HTTP request models of
`/api/v1/conversations` that become them.

The service takes domain objects (`NewConversation`, `Message`), not request models, so another
route family (the Converra SDK's `/api/v1/runs`) can drive the same operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from shared.errors import BadRequest
from shared.fields import (
    MAX_ID_CHARS,
    Milliseconds,
    Timestamp,
    TokenCount,
    describe_error,
    field_path,
    invalid,
)

Status = Literal["active", "in_progress", "completed", "abandoned"]
STATUSES: tuple[str, ...] = get_args(Status)
CLOSED_STATUSES = frozenset({"completed", "abandoned"})  # they take no more messages
EMPTY_START_STATUS = "active"  # the one status a conversation may be created with no messages
Role = Literal["user", "assistant", "system", "tool"]
ROLES: tuple[str, ...] = get_args(Role)

Text = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
# The flag on a stored message that could not be decoded (store/items.py): answers only.
UNDECODABLE = "undecodable"


class Usage(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")

    promptTokens: TokenCount | None = None
    completionTokens: TokenCount | None = None
    totalTokens: TokenCount | None = None


class Message(BaseModel):
    """One turn: `role` and `content`, and optionally `timestamp`, `model`, `tokens`,
    `toolCalls`, `usage`, `latencyMs`, `metadata`. Other fields are kept as sent. Numbers
    Parley reads back or computes with are bounded (token counts, `latencyMs`)."""

    model_config = ConfigDict(strict=True, extra="allow")

    role: Role
    # `tool` results may be empty (the call is in toolCalls); every other role needs text.
    content: str = Field(default="", validate_default=True)
    timestamp: Timestamp | None = None
    model: str | None = None
    tokens: TokenCount | None = None
    toolCalls: list[dict[str, Any]] | None = None
    usage: Usage | None = None
    latencyMs: Milliseconds | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("content")
    @classmethod
    def _needs_text(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip() and info.data.get("role", "tool") != "tool":
            raise invalid("must not be empty (only tool messages may have empty content)")
        return value

    @model_validator(mode="after")
    def _not_flagged(self) -> Message:
        if self.model_extra and UNDECODABLE in self.model_extra:
            raise invalid(
                f"'{UNDECODABLE}' is reserved: it marks a stored message Parley could not read"
            )
        return self

    def stored(self) -> dict[str, Any]:
        """The message as stored and returned: what was sent, timestamps normalized."""
        return self.model_dump(exclude_none=True)


@dataclass(frozen=True)
class NewConversation:
    """What a create stores. `prompt_id` is optional here: the HTTP create route requires it
    unless `prompt_name` is given, other route families decide for themselves."""

    messages: list[Message]
    status: Status = "completed"
    prompt_id: str | None = None
    prompt_name: str | None = None
    llm_model: str | None = None
    company_name: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    system_prompt_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    title: str | None = None
    trace_id: str | None = None
    parent_trace_id: str | None = None
    tool_definitions: list[Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def attributes(self) -> dict[str, Any]:
        """The descriptive fields that were given, under their API (camelCase) names."""
        values = {
            "promptName": self.prompt_name,
            "llmModel": self.llm_model,
            "companyName": self.company_name,
            "agentId": self.agent_id,
            "agentName": self.agent_name,
            "systemPromptId": self.system_prompt_id,
            "userId": self.user_id,
            "sessionId": self.session_id,
            "title": self.title,
            "traceId": self.trace_id,
            "parentTraceId": self.parent_trace_id,
            "toolDefinitions": self.tool_definitions,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass
class Conversation:
    """A stored conversation. `messages`/`content` are None when only its summary was read."""

    id: str
    status: str
    created_status: str  # the status it was created with (an idempotent repeat answers it)
    created_at: str
    updated_at: str
    prompt_id: str | None
    attributes: dict[str, Any]  # promptName, llmModel, userId, title, … (camelCase)
    metadata: dict[str, Any]
    message_count: int
    content_bytes: int
    stored_bytes: int
    version: int
    has_insights: bool
    insights: dict[str, Any] | None = None
    insights_failure: str | None = None  # why analysis failed for good (SDK status `failed`)
    messages: list[dict[str, Any]] | None = None
    content: str | None = None
    # Tokens of the appends stored (read with the messages): a retry finds its own write.
    writes: frozenset[str] = frozenset()


def may_start_empty(status: str) -> bool:
    """Only an active conversation may be created without messages: its turns come later, by
    append. Every create path asks this (conversations and runs, request models and service)."""
    return status == EMPTY_START_STATUS


def check_has_messages(messages: list[Any], status: str, field: str, what: str) -> None:
    """A 400 naming `field` when a create holds no messages and its status may not start
    empty. `what` is how the route names a conversation ("conversation", "run")."""
    if not messages and not may_start_empty(status):
        problem = f"Holds no messages: only an '{EMPTY_START_STATUS}' {what} may start empty"
        raise BadRequest("Invalid request body", details={field: problem})


def is_analyzable(prompt_id: str | None, attributes: dict[str, Any]) -> bool:
    """Insights are produced only for a conversation linked to a prompt or an agent (a free-text
    promptName alone is not a link)."""
    return bool(prompt_id or attributes.get("agentId") or attributes.get("systemPromptId"))


@dataclass(frozen=True)
class ListFilters:
    prompt_id: str | None = None
    status: str | None = None
    has_insights: bool | None = None


@dataclass(frozen=True)
class ConversationSummary:
    """A conversation as listed: what the tenant index holds, and from its META item what a
    list shows of it (title, counts, what produced it)."""

    id: str
    prompt_id: str | None
    status: str
    has_insights: bool
    created_at: str
    title: str | None = None
    message_count: int | None = None
    updated_at: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


_TITLE_CHARS = 80


def title_of(attributes: dict[str, Any], messages: list[dict[str, Any]] | None) -> str | None:
    """The title sent on create, else the first line of the first user message (80 chars)."""
    title = attributes.get("title")
    if isinstance(title, str):
        return title
    for message in messages or ():
        if message["role"] == "user" and message.get("content", "").strip():
            line: str = message["content"].strip().split("\n", 1)[0]
            return line if len(line) <= _TITLE_CHARS else line[: _TITLE_CHARS - 1] + "…"
    return None


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[ConversationSummary]
    total: int
    next_after: str | None  # the id to continue after, when more match


# --- HTTP request models ---------------------------------------------------------------------


class CreateRequest(BaseModel):
    """`POST /api/v1/conversations`. Cross-field rules (promptId unless promptName, content
    unless active) are checked by the endpoint, so `details` can name the missing field."""

    model_config = ConfigDict(strict=True, extra="forbid")

    promptId: Text | None = None
    promptName: Text | None = None
    content: str | None = None
    status: Status = "completed"
    llmModel: Text | None = None
    companyName: Text | None = None
    agentId: Text | None = None
    agentName: Text | None = None
    systemPromptId: Text | None = None
    userId: Text | None = None
    sessionId: Text | None = None
    title: Annotated[str, Field(max_length=1000)] | None = None
    traceId: Text | None = None
    parentTraceId: Text | None = None
    toolDefinitions: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    idempotencyKey: Annotated[str, Field(min_length=1, max_length=255)] | None = None


class AppendRequest(BaseModel):
    """`POST /api/v1/conversations/{id}/messages`."""

    model_config = ConfigDict(strict=True, extra="forbid")

    messages: Annotated[list[Message], Field(min_length=1)]
    status: Status | None = None
    metadata: dict[str, Any] | None = None


class StructuredContent(BaseModel):
    """`content` as a JSON string: `{"messages": [...], "metadata": {...}?}`, no other keys."""

    model_config = ConfigDict(strict=True, extra="forbid")

    messages: list[Message]
    metadata: dict[str, Any] | None = None


def _detail(error: ErrorDetails) -> str:
    if error["type"] == "missing":
        return "Required field"
    if error["type"] == "extra_forbidden":
        return "Unknown field"
    text = describe_error({**error, "loc": ()}, "").strip()
    return text[:1].upper() + text[1:]


def validation_details(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """Field path → problem, for `error.details` (first problem per field)."""
    details: dict[str, str] = {}
    for error in exc.errors():
        path = field_path(error["loc"])
        name = f"{prefix}.{path}" if prefix and path else (prefix or path or "body")
        details.setdefault(name, _detail(error))
    return details


def validate_body[M: BaseModel](model: type[M], data: Any) -> M:
    """`model` from a parsed body, or a 400 whose details name every field at fault."""
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest("Invalid request body", details=validation_details(exc)) from None
