"""`make loadtest` in small: it starts its own server, drives it, reads everything back and
ends with the documented line and exit status 0 (nothing lost, nothing duplicated)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"^loadtest: (\d+) requests, (\d+) events acknowledged, (\d+) lost, (\d+) duplicated, "
    r"[\d.]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms$"
)


def test_a_small_loadtest_loses_and_duplicates_nothing() -> None:
    args = ["--requests", "24", "--appends", "12", "--live", "3", "--conversations", "6"]
    run = subprocess.run(
        [sys.executable, "-m", "bench.loadtest", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    match = LAST_LINE.match(run.stdout.strip().splitlines()[-1])
    assert match, run.stdout
    requests, events, lost, duplicated = map(int, match.groups())
    assert (requests, lost, duplicated) == (36, 0, 0)
    assert events >= 24 + 12  # at least one event per request
