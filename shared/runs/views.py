"""The `{"data": ...}` bodies the SDK reads for runs."""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation
from shared.insights.sdk import sdk_insights


def data(payload: Any) -> dict[str, Any]:
    """Every success the SDK reads is `{"data": ...}`."""
    return {"data": payload}


def run_insights(conversation: Conversation) -> dict[str, Any]:
    """`GET /runs/{id}/insights`: the stored analysis in the SDK's form, or its status form
    (`pending`, `skipped`, `failed`) — one analysis, two views (see shared.insights.sdk)."""
    return sdk_insights(conversation)
