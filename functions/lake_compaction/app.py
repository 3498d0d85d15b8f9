"""Scheduled: every lake partition's small files merged into one (shared/lake/compaction.py)."""

from typing import Any

from shared import services
from shared.logs import configure
from shared.settings import get_settings

configure(get_settings().log_level)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return services.lake_compactor().run().as_dict()
