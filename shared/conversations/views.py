"""The response shapes of `/api/v1/conversations…` (docs/conversations-api.md)."""

from __future__ import annotations

from typing import Any

from shared.conversations import models
from shared.conversations.models import Conversation, ConversationPage

BASE_PATH = "/api/v1/conversations"
# The descriptive fields sent on create that a list row shows (null when not sent).
_LISTED_ATTRIBUTES = ("promptName", "agentId", "agentName", "llmModel")
_APPEND_HINT = (
    "Append turns to this conversation. Send status: 'completed' on the final call to trigger "
    "analysis."
)


def created_view(conversation: Conversation) -> dict[str, Any]:
    """The create answer; an idempotent repeat gets the same one (status as created)."""
    body: dict[str, Any] = {"id": conversation.id, "promptId": conversation.prompt_id}
    if "promptName" in conversation.attributes:
        body["promptName"] = conversation.attributes["promptName"]
    body |= {
        "status": conversation.created_status,
        "createdAt": conversation.created_at,
        "_links": {
            "appendMessages": {
                "href": f"{BASE_PATH}/{conversation.id}/messages",
                "method": "POST",
                "hint": _APPEND_HINT,
            }
        },
    }
    return body


def title_of(conversation: Conversation) -> str | None:
    """See models.title_of."""
    return models.title_of(conversation.attributes, conversation.messages)


def user_id_of(conversation: Conversation) -> str | None:
    """`userId` sent on create, else `metadata.userId` (where clients of the JSON content form
    put it), else None."""
    user_id = conversation.attributes.get("userId", conversation.metadata.get("userId"))
    return user_id if isinstance(user_id, str) else None


def conversation_view(
    conversation: Conversation, *, include_insights: bool | None = None
) -> dict[str, Any]:
    """The whole conversation (append and get). `include_insights`: None leaves the key out,
    True/False say whether to show them (null while pending)."""
    attributes = conversation.attributes
    body: dict[str, Any] = {
        "id": conversation.id,
        "promptId": conversation.prompt_id,
        "userId": user_id_of(conversation),
        "title": title_of(conversation),
        "content": conversation.content or "",
        "messages": conversation.messages or [],
        "status": conversation.status,
        "llmModel": attributes.get("llmModel"),
    }
    body |= {k: v for k, v in attributes.items() if k not in ("userId", "title", "llmModel")}
    body |= {
        "metadata": conversation.metadata,
        "messageCount": conversation.message_count,
        "hasInsights": conversation.has_insights,
        "createdAt": conversation.created_at,
        "updatedAt": conversation.updated_at,
    }
    if include_insights:
        body["insights"] = conversation.insights
    return body


def list_view(page: ConversationPage, *, limit: int, offset: int, cursor: str | None) -> Any:
    return {
        "data": [
            {
                "id": c.id,
                "promptId": c.prompt_id,
                "status": c.status,
                "hasInsights": c.has_insights,
                "createdAt": c.created_at,
                # What a list shows of it (read from its META item with the page).
                "title": c.title,
                "messageCount": c.message_count,
                "updatedAt": c.updated_at,
                **{name: c.attributes.get(name) for name in _LISTED_ATTRIBUTES},
            }
            for c in page.conversations
        ],
        "pagination": {
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "nextCursor": cursor,
        },
    }


def insights_view(conversation_id: str, insights: dict[str, Any]) -> dict[str, Any]:
    return {"conversationId": conversation_id, **insights}
