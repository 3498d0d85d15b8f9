"""`make loadtest` in small: it starts its own server, drives it, reads everything back and
ends with the documented lines and exit status 0 (nothing lost, nothing duplicated) — with
the data folder's durability off and on, and after a `kill -9` in the middle of the run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUN_LINE = re.compile(
    r"^loadtest: durability (on|off): (\d+) requests, (\d+) events acknowledged, (\d+) lost, "
    r"(\d+) duplicated, "
    r"[\d.]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms(?:, server CPU [\d.]+ ms per request)?$",
    re.MULTILINE,
)
COMPARISON = re.compile(r"^loadtest: durability on runs at \d+% of off's throughput", re.M)
CPU_COMPARISON = re.compile(r"^loadtest: durability on costs [+-]\d+% server CPU per request", re.M)
SMALL = ["--requests", "24", "--appends", "12", "--live", "3", "--conversations", "6"]


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.loadtest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_small_loadtest_loses_and_duplicates_nothing_with_durability_off_and_on() -> None:
    run = loadtest(*SMALL)
    assert run.returncode == 0, run.stdout + run.stderr
    runs = {m[0]: tuple(map(int, m[1:])) for m in RUN_LINE.findall(run.stdout)}
    assert set(runs) == {"on", "off"}, run.stdout
    for requests, events, lost, duplicated in runs.values():
        assert (requests, lost, duplicated) == (36, 0, 0)
        assert events >= 24 + 12  # at least one event per request
    assert COMPARISON.search(run.stdout), run.stdout
    if sys.platform == "linux":  # read from /proc
        assert CPU_COMPARISON.search(run.stdout), run.stdout


def test_kill_9_in_the_middle_of_a_loadtest_loses_no_acknowledged_event() -> None:
    """SIGKILL once 40 requests are answered, while 8 clients keep sending: after a restart
    on the same data folder, every acknowledged event and append is there, exactly once."""
    plan = ["--requests", "150", "--appends", "40", "--live", "4", "--conversations", "12"]
    run = loadtest(*plan, "--concurrency", "8", "--durability", "on", "--kill-after", "40")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "killed the server (SIGKILL) after 40 answers" in run.stdout, run.stdout
    assert "restarted on the same data folder" in run.stdout, run.stdout
    ((durability, *numbers),) = RUN_LINE.findall(run.stdout)
    requests, events, lost, duplicated = map(int, numbers)
    assert durability == "on"
    assert (lost, duplicated) == (0, 0)
    assert 40 <= requests < 190  # acknowledged before the kill; the rest never answered
    assert events >= requests
