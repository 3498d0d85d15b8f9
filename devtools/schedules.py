"""Scheduled functions locally: the template's `Type: Schedule` events, run on a timer through
the real handler with the event EventBridge sends (make dev).

The local period is the template's `rate(…)` unless PARLEY_DEV_SCHEDULE_SECONDS sets one for
every schedule (the lake's compaction runs every 10 minutes on AWS; 30 s locally by default, so
a developer sees compacted partitions soon).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devtools.gateway import LoadedFunction, load_function
from devtools.template import Function, functions, resources

PERIOD_VAR = "PARLEY_DEV_SCHEDULE_SECONDS"
DEFAULT_LOCAL_PERIOD = 30.0
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    function: Function
    expression: str  # rate(10 minutes)
    seconds: float  # the period the expression names


def rate_seconds(expression: str) -> float:
    match = _RATE.match(expression.strip())
    if match is None:
        raise ValueError(f"only rate(N unit) schedules run locally, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def schedules(template: dict[str, Any]) -> list[Schedule]:
    by_id = functions(template)
    found = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") == "Schedule":
                expression = event["Properties"]["Schedule"]
                found.append(Schedule(by_id[name], expression, rate_seconds(expression)))
    return found


def scheduled_event(function: str, region: str, now: datetime | None = None) -> dict[str, Any]:
    """What EventBridge sends a scheduled target."""
    at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at,
        "region": region,
        "resources": [f"arn:aws:events:{region}:123456789012:rule/{function}-schedule"],
        "detail": {},
    }


class ScheduleRunner:
    """Runs each scheduled function every `period` seconds on one background thread."""

    def __init__(
        self,
        template: dict[str, Any],
        period: float | None = None,
        loader: Callable[[dict[str, Any], Function], LoadedFunction] = load_function,
    ) -> None:
        raw = os.environ.get(PERIOD_VAR, "").strip()
        self.period = period if period is not None else float(raw or DEFAULT_LOCAL_PERIOD)
        self._loaded = [loader(template, s.function) for s in schedules(template)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def functions(self) -> list[str]:
        return [loaded.function.logical_id for loaded in self._loaded]

    def run_once(self) -> list[Any]:
        region = os.environ.get("AWS_REGION", "us-east-1")
        answers = []
        for loaded in self._loaded:
            try:
                answers.append(loaded.invoke(scheduled_event(loaded.function.logical_id, region)))
            except Exception as exc:  # the next tick tries again, as EventBridge would
                name = loaded.function.logical_id
                sys.stderr.write(f"schedules: {name} failed: {type(exc).__name__}: {exc}\n")
                answers.append(None)
        return answers

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        next_run = time.monotonic() + self.period
        while not self._stop.wait(max(0.0, next_run - time.monotonic())):
            self.run_once()
            next_run = time.monotonic() + self.period
