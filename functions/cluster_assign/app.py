"""Scheduled: new and changed conversations put in their nearest cluster (shared/clusters/)."""

from typing import Any

from shared import services
from shared.clusters.worker import assign_passes
from shared.logs import configure
from shared.settings import get_settings

configure(get_settings().log_level)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return assign_passes(services.cluster_service(), get_settings().clusters_assign_passes)
