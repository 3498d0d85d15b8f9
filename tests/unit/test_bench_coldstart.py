"""The cold-start bench's instruction counts (bench/coldstart.py, make bench section [1])."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import coldstart, run

CALLGRIND_STDERR = """\
==4242== Callgrind, a call-graph generating cache profiler
==4242== Command: python -c pass
==4242==
==4242== Events    : Ir
==4242== Collected : 1134991944
==4242==
==4242== I   refs:      1,134,991,944
"""


def test_the_count_is_read_from_callgrinds_summary() -> None:
    assert coldstart.collected(CALLGRIND_STDERR) == 1134991944


def test_output_without_a_summary_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no callgrind summary"):
        coldstart.collected("==1== Callgrind\nTraceback (most recent call last):\n")


def test_the_command_runs_under_callgrind_writing_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coldstart.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert coldstart.valgrind_command(["python", "-c", "pass"]) == [
        "/usr/bin/valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        "python",
        "-c",
        "pass",
    ]


def test_without_valgrind_nothing_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coldstart.shutil, "which", lambda name: None)
    assert coldstart.valgrind_command(["python"]) is None
    assert coldstart.count_instructions({"floor": (["python"], {}, Path.cwd())}) is None


def test_the_line_beside_the_verdict() -> None:
    assert run.instructions_line(1_250_000_000, 1_136_072_947) == (
        "    instructions: 1,250,000,000 vs floor 1,136,072,947 = 1.10x"
    )


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_a_real_count_is_the_same_from_run_to_run() -> None:
    """What makes it the stable figure: a fixed hash seed, so the same process executes the same
    instructions (a few thousand apart at most, from the environment's size and addresses)."""
    command = ([sys.executable, "-S", "-c", "pass"], {}, Path.cwd())
    first = coldstart.count_instructions({"floor": command})
    second = coldstart.count_instructions({"floor": command})
    assert first is not None
    assert second is not None
    assert first["floor"] > 1_000_000
    assert abs(first["floor"] - second["floor"]) < first["floor"] * 0.001


def test_the_bench_runs_only_the_sections_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[int] = []

    def body(number: int) -> Callable[[], None]:
        return lambda: ran.append(number)

    sections = [(title, names, body(n)) for n, (title, names, _) in enumerate(run.SECTIONS, 1)]
    monkeypatch.setattr(run, "SECTIONS", sections)
    monkeypatch.setattr(run.env, "apply", lambda: None)
    assert run.main(["1", "3"]) == 0
    assert ran == [1, 3]
    out = capsys.readouterr().out
    assert "[1] Cold start: import + first request" in out
    assert "[2]" not in out
    run.main([])
    assert ran == [1, 3, *range(1, len(sections) + 1)]
