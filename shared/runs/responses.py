"""The `{"data": ...}` bodies the SDK reads for runs."""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation
from shared.conversations.views import insights_view


def data(payload: Any) -> dict[str, Any]:
    """Every success the SDK reads is `{"data": ...}`."""
    return {"data": payload}


def linked_to_prompt(conversation: Conversation) -> bool:
    """Whether insights will be produced once it is completed: it names a prompt by id.
    A free-text `agentName`/`promptName` does not (seed 004: such conversations complete but
    are not analyzed)."""
    attributes = conversation.attributes
    return bool(
        conversation.prompt_id or attributes.get("agentId") or attributes.get("systemPromptId")
    )


def run_insights(conversation: Conversation) -> dict[str, Any]:
    """`GET /runs/{id}/insights`: the insights once produced, else the lifecycle form."""
    if conversation.insights is not None:
        return insights_view(conversation.id, conversation.insights)
    return insights_lifecycle(
        conversation.id, linked=linked_to_prompt(conversation), status=conversation.status
    )


def insights_lifecycle(conversation_id: str, *, linked: bool, status: str) -> dict[str, Any]:
    """The SDK's lifecycle form for a run without insights (`ConversationInsightsUnavailable`).

    Insights are produced once, after a conversation linked to a prompt (`promptId`, `agentId`
    or `systemPromptId`) reaches `completed` (CONTRACT §3). Until then they are pending; a
    conversation that can never get them says so instead of staying pending for ever.
    """
    if not linked:
        return {
            "conversationId": conversation_id,
            "status": "skipped",
            "code": "NOT_LINKED",
            "reason": "not_linked_to_prompt",
            "message": "Insights are only produced for conversations linked to a prompt "
            "(agentId, promptId or systemPromptId); this one is stored but not analyzed",
        }
    if status == "abandoned":
        return {
            "conversationId": conversation_id,
            "status": "skipped",
            "code": "ABANDONED",
            "reason": "conversation_abandoned",
            "message": "Insights are only produced for completed conversations; "
            "this one was abandoned",
        }
    message = (
        "Insights are pending: they are produced after the conversation is completed"
        if status != "completed"
        else "Insights are pending: the conversation is completed and waiting for analysis"
    )
    return {"conversationId": conversation_id, "status": "pending", "message": message}
