"""The clusters' scheduled runs: each tenant of the lake on its own, so one tenant's fault (a
storage error, Bedrock throttling) is logged and left for the next run while the others go on;
a run with any failed tenant raises at the end, so the failure shows in the function's errors
metric and alarms."""

from __future__ import annotations

import logging
import time
from typing import Any

from shared.clusters.service import ClusterService

log = logging.getLogger(__name__)
PASS_SECONDS = 30.0  # between two assignment passes of one run


class ClustersRunFailed(Exception):
    pass


def run_for_tenants(service: ClusterService, recluster: bool) -> dict[str, Any]:
    outcomes = []
    failed = []
    for tenant in service.tenants():
        try:
            outcome = service.recluster(tenant) if recluster else service.assign(tenant)
            outcomes.append(outcome.as_dict())
        except Exception:
            log.exception("clusters: tenant failed", extra={"tenant": tenant})
            failed.append(tenant)
    if failed:
        raise ClustersRunFailed(f"{len(failed)} tenant(s) failed; see the log")
    return {"tenants": outcomes}


def assign_passes(service: ClusterService, passes: int) -> dict[str, Any]:
    """`passes` assignment runs, PASS_SECONDS apart: a schedule can fire at most once a
    minute, two passes per run keep a new conversation's wait under 60 s."""
    started = time.monotonic()
    answer = run_for_tenants(service, recluster=False)
    for _ in range(passes - 1):
        time.sleep(max(0.0, started + PASS_SECONDS - time.monotonic()))
        started = time.monotonic()
        answer = run_for_tenants(service, recluster=False)
    return answer
