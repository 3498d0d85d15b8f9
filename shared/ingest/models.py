"""The chat event model of `/v1/ingest` (events without `messageType`; the replaced APIs' event
shapes, docs/ingest-api.md), with the rules of its content blocks.

The typed events (`messageType`: channel, tool_call, email, call) are in
shared.ingest.channel_models, which a function imports when its first typed event arrives; the
endpoints' tables of models are in shared.ingest.policies.
"""

# No `from __future__ import annotations` in this module: pydantic would compile every field's
# annotation from its string when the class is made, on every cold start (docs/performance.md).
from typing import Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, model_validator

from shared.fields import ChatRole, Identifier, TokenCount, invalid
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
    def _has_text(self) -> Self:
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
