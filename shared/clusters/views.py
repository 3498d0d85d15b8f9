"""Clusters as the API shows them."""

from __future__ import annotations

from typing import Any

from shared.clusters.reads import ClusterSummary, MembersPage


def _change(current: int, previous: int) -> float | None:
    return round((current - previous) / previous, 4) if previous else None


def cluster_view(summary: ClusterSummary) -> dict[str, Any]:
    cluster = summary.cluster
    return {
        "id": cluster.id,
        "label": cluster.label,
        "size": summary.size,
        "trend": {
            "last7Days": summary.last_7_days,
            "previous7Days": summary.previous_7_days,
            "change": _change(summary.last_7_days, summary.previous_7_days),
        },
        "sampleConversationIds": summary.samples,
        "environment": cluster.environment or None,
        "terms": cluster.terms,
        "createdAt": cluster.created_at,
    }


def members_view(page: MembersPage, limit: int) -> dict[str, Any]:
    return {
        **cluster_view(page.summary),
        "members": page.members,
        "pagination": {"limit": limit, "nextCursor": page.next_cursor},
    }
