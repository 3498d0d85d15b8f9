"""ConversationsTable stream → insights of completed, linked conversations (shared/insights)."""

from typing import Any

from shared import services
from shared.logs import configure
from shared.settings import get_settings

configure(get_settings().log_level)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services.insights_worker().handle(event)
