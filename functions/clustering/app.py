"""Scheduled: every tenant's conversations clustered again (shared/clusters/service.py)."""

from typing import Any

from shared import services
from shared.clusters.worker import run_for_tenants
from shared.logs import configure
from shared.settings import get_settings

configure(get_settings().log_level)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_for_tenants(services.cluster_service(), recluster=True)
