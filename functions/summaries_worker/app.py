"""RecordsTable stream → per-conversation summaries (shared/ingest/summaries.py)."""

from typing import Any

from shared import services
from shared.logs import configure
from shared.settings import get_settings

configure(get_settings().log_level)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services.summary_worker().handle(event)
