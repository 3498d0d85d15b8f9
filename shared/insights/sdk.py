"""The Converra SDK's view of a conversation's insights (`GET /api/v1/runs/{id}/insights`):
the same stored analysis as `GET /api/v1/conversations/{id}/insights`, reshaped — one
analysis, two views.

Analyzed: `{id, conversationId, title, executiveSummary, topIssues, additionalConcerns,
nextSteps, keywords, metrics: {gatedScore, qualityScore, objectiveMultiplier}, createdAt,
updatedAt}`. Otherwise `{conversationId, status, message}` with `pending` (linked, not analyzed
yet), `skipped` (never analyzed: no prompt or agent, or abandoned) or `failed` (analysis
failed for good). Both forms parse with the `converra` package's own parsers (0.5.1:
`ConversationInsights`, `ConversationInsightsUnavailable.from_dict`; tests/unit/
test_runs_sdk_wire.py and tests/e2e/test_converra_sdk.py run them).

Metrics (0…100, one decimal; docs/insights.md):
  sentimentPart       = (sentimentScore + 1) / 2                  0…1
  qualityScore        = 100 * clamp(0.6 * taskCompleted + 0.4 * sentimentPart
                                     - 0.1 * min(len(issues), 3), 0, 1)
  objectiveMultiplier = 1.0 if taskCompleted else 0.5
  gatedScore          = qualityScore * objectiveMultiplier
"""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation, is_analyzable
from shared.conversations.views import title_of

TOP_ISSUES = 3
_ISSUE_PENALTY = 0.1
_MAX_PENALIZED_ISSUES = 3
_FAILED_OBJECTIVE = 0.5
# Follow-ups for the issue kinds the local analyzer names (its issues start with the kind).
_NEXT_STEPS = {
    "Unanswered question": "Answer the user's last question",
    "Repeated request": "Check why the user had to repeat the request",
    "Escalation": "Follow up personally: the user asked for a human",
    "Frustration": "Review the turns where the user got frustrated",
    "Tool failure": "Investigate the failing tool call",
}
_NOT_COMPLETED = "Follow up with the user: the task was not completed"
_STATUS_MESSAGES = {
    "pending": "Insights are produced shortly after the run is completed",
    "skipped": "Never analyzed: the run is not linked to a prompt or an agent",
    "abandoned": "Never analyzed: the run was abandoned, and only completed runs are analyzed",
    "failed": "Insights could not be produced for this run: analysis failed",
}


def insights_status(conversation: Conversation) -> str | None:
    """None when analyzed, else `pending`, `skipped` or `failed`."""
    if conversation.insights is not None:
        return None
    if conversation.insights_failure is not None:
        return "failed"
    if conversation.status == "abandoned" or not is_analyzable(
        conversation.prompt_id, conversation.attributes
    ):
        return "skipped"
    return "pending"


def metrics(insights: dict[str, Any]) -> dict[str, float]:
    completed = bool(insights.get("taskCompleted"))
    sentiment_part = (float(insights.get("sentimentScore", 0.0)) + 1) / 2
    issues = min(len(insights.get("issues") or []), _MAX_PENALIZED_ISSUES)
    raw = 0.6 * completed + 0.4 * sentiment_part - _ISSUE_PENALTY * issues
    quality = round(100 * max(0.0, min(1.0, raw)), 1)
    multiplier = 1.0 if completed else _FAILED_OBJECTIVE
    return {
        "gatedScore": round(quality * multiplier, 1),
        "qualityScore": quality,
        "objectiveMultiplier": multiplier,
    }


def next_steps(insights: dict[str, Any]) -> list[str]:
    steps = []
    for issue in insights.get("issues") or []:
        kind = str(issue).split(":", 1)[0]
        step = _NEXT_STEPS.get(kind, f"Look into: {issue}")
        if step not in steps:
            steps.append(step)
    if not insights.get("taskCompleted"):
        steps.append(_NOT_COMPLETED)
    return steps


def sdk_insights(conversation: Conversation) -> dict[str, Any]:
    """The SDK's `data` for a conversation's insights (the route wraps it in `{"data": …}`)."""
    status = insights_status(conversation)
    insights = conversation.insights
    if status is not None or insights is None:
        abandoned = status == "skipped" and conversation.status == "abandoned"
        return {
            "conversationId": conversation.id,
            "status": status,
            "message": _STATUS_MESSAGES["abandoned" if abandoned else status or "pending"],
        }
    issues = [str(issue) for issue in insights.get("issues") or []]
    summary = str(insights.get("summary", ""))
    return {
        "id": "ins_" + conversation.id.removeprefix("conv_"),
        "conversationId": conversation.id,
        "title": title_of(conversation) or summary[:80],
        "executiveSummary": summary,
        "topIssues": issues[:TOP_ISSUES],
        "additionalConcerns": issues[TOP_ISSUES:],
        "nextSteps": next_steps(insights),
        "keywords": list(insights.get("topics") or []),
        "metrics": metrics(insights),
        "createdAt": insights.get("createdAt"),
        "updatedAt": insights.get("createdAt"),  # insights are written once, never changed
    }
