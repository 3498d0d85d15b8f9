"""ConversationsTable stream → the analytics lake's Parquet (shared/lake/writer.py)."""

from typing import Any

from shared import services
from shared.logs import configure
from shared.settings import get_settings

configure(get_settings().log_level)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services.lake_conversations_worker().handle(event)
