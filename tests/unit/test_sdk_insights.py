"""The Converra SDK's insights form, from the same stored insights as
`GET /api/v1/conversations/{id}/insights`."""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation
from shared.insights.sdk import metrics, sdk_insights

INSIGHTS = {
    "sentiment": "positive",
    "sentimentScore": 0.6,
    "taskCompleted": True,
    "topics": ["delivery", "friday"],
    "summary": "The user moved a delivery to Friday.",
    "issues": [],
    "createdAt": "2025-01-20T14:35:00.000Z",
    "analyzer": "local",
}


def conversation(**changes: Any) -> Conversation:
    values: dict[str, Any] = {
        "id": "conv_01JJ0000000000000000000000",
        "status": "completed",
        "created_status": "completed",
        "created_at": "2025-01-20T14:30:00.000Z",
        "updated_at": "2025-01-20T14:30:00.000Z",
        "prompt_id": "prompt_1",
        "attributes": {},
        "metadata": {},
        "message_count": 2,
        "content_bytes": 10,
        "stored_bytes": 10,
        "version": 1,
        "has_insights": False,
        "messages": [{"role": "user", "content": "Move my delivery to Friday"}],
    }
    return Conversation(**(values | changes))


def test_analyzed_conversation_in_the_sdk_form() -> None:
    form = sdk_insights(conversation(insights=INSIGHTS, has_insights=True))
    assert form == {
        "id": "ins_01JJ0000000000000000000000",
        "conversationId": "conv_01JJ0000000000000000000000",
        "title": "Move my delivery to Friday",
        "executiveSummary": "The user moved a delivery to Friday.",
        "topIssues": [],
        "additionalConcerns": [],
        "nextSteps": [],
        "keywords": ["delivery", "friday"],
        "metrics": {"gatedScore": 92.0, "qualityScore": 92.0, "objectiveMultiplier": 1.0},
        "createdAt": "2025-01-20T14:35:00.000Z",
        "updatedAt": "2025-01-20T14:35:00.000Z",
    }


def test_issues_split_into_top_and_additional_with_follow_ups() -> None:
    issues = [
        "Frustration: the user expressed frustration",
        "Escalation: the user asked for a human or threatened to escalate",
        "Repeated request: the user had to ask again",
        "Tool failure: a tool call returned an error",
        "The refund policy was unclear",  # free text, as the bedrock analyzer writes them
    ]
    form = sdk_insights(
        conversation(insights=INSIGHTS | {"issues": issues, "taskCompleted": False})
    )
    assert form["topIssues"] == issues[:3]
    assert form["additionalConcerns"] == issues[3:]
    assert form["nextSteps"] == [
        "Review the turns where the user got frustrated",
        "Follow up personally: the user asked for a human",
        "Check why the user had to repeat the request",
        "Investigate the failing tool call",
        "Look into: The refund policy was unclear",
        "Follow up with the user: the task was not completed",
    ]


def test_metrics_formula() -> None:
    # 100 * (0.6 * 1 + 0.4 * (0.6 + 1) / 2) = 92
    assert metrics(INSIGHTS)["qualityScore"] == 92.0
    # not completed, neutral, two issues: 100 * (0 + 0.4 * 0.5 - 0.2) = 0, gated * 0.5
    low = metrics(INSIGHTS | {"taskCompleted": False, "sentimentScore": 0.0, "issues": [1, 2]})
    assert low == {"gatedScore": 0.0, "qualityScore": 0.0, "objectiveMultiplier": 0.5}
    half = metrics(INSIGHTS | {"taskCompleted": False, "sentimentScore": 1.0})
    assert half == {"gatedScore": 20.0, "qualityScore": 40.0, "objectiveMultiplier": 0.5}
    assert metrics(INSIGHTS | {"issues": list(range(9))})["qualityScore"] == 62.0  # capped at 3


def test_status_forms() -> None:
    cid = "conv_01JJ0000000000000000000000"
    pending = sdk_insights(conversation())
    assert pending == {"conversationId": cid, "status": "pending", "message": pending["message"]}
    agent = conversation(prompt_id=None, attributes={"agentId": "agent_1"})
    assert sdk_insights(agent)["status"] == "pending"
    unlinked = conversation(prompt_id=None, attributes={"promptName": "free"})
    assert sdk_insights(unlinked)["status"] == "skipped"
    assert "not linked" in sdk_insights(unlinked)["message"]
    failed = conversation(insights_failure="The analyzer failed")
    assert sdk_insights(failed)["status"] == "failed"
