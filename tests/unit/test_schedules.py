"""devtools/schedules.py: the template's scheduled functions, run locally through their real
handlers with the event EventBridge sends."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.gateway import LoadedFunction
from devtools.schedules import ScheduleRunner, rate_seconds, scheduled_event, schedules
from devtools.template import Function, load_template


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(10 minutes)", 600),
        ("rate(1 minute)", 60),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
    ],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_expressions_are_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="only rate"):
        rate_seconds("cron(0 12 * * ? *)")


def test_the_templates_schedules_include_the_lake_compaction_and_the_clusters() -> None:
    found = {s.function.logical_id: s.seconds for s in schedules(load_template())}
    assert found == {
        "LakeCompactionFunction": 600,
        "ClusteringFunction": 3600,
        "ClusterAssignFunction": 60,
    }


def test_runner_invokes_each_handler_with_a_scheduled_event_and_survives_a_failure() -> None:
    seen: list[dict[str, Any]] = []

    def loader(template: dict[str, Any], function: Function) -> LoadedFunction:
        def handler(event: dict[str, Any], context: Any) -> str:
            seen.append(event)
            if len(seen) == 1:
                raise RuntimeError("first run fails")
            return "ok"

        return LoadedFunction(function, handler, 900.0, 2048)

    runner = ScheduleRunner(load_template(), period=60, loader=loader)
    assert runner.functions == [
        "LakeCompactionFunction",
        "ClusteringFunction",
        "ClusterAssignFunction",
    ]
    # The first failure is reported, the runner goes on with the others and the next tick.
    assert runner.run_once() == [None, "ok", "ok"]
    assert runner.run_once() == ["ok", "ok", "ok"]
    assert seen[0]["detail-type"] == "Scheduled Event"
    assert seen[0]["source"] == "aws.events"
    assert scheduled_event("F", "eu-west-1")["region"] == "eu-west-1"
