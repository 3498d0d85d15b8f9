"""`parley`'s progress off a terminal: plain lines, never `\r` frames."""

from __future__ import annotations

import argparse
import io
from typing import Any

import pytest

from devtools import api_cli


def test_off_a_terminal_progress_is_plain_periodic_lines(monkeypatch: Any) -> None:
    monkeypatch.setattr(api_cli, "PROGRESS_EVERY", 0.0)
    err = io.StringIO()  # not a terminal
    monkeypatch.setattr("sys.stderr", err)
    with api_cli._progress(argparse.Namespace(quiet=False), 3, "event") as bar:
        assert isinstance(bar, api_cli.ProgressLines)
        bar.update(1)
        bar.update(2)
    lines = err.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == ["1 of 3 events", "3 of 3 events"]
    assert "\r" not in err.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("stream", "quiet"), [(Terminal(), False), (io.StringIO(), True)])
def test_a_terminal_gets_the_bar_and_quiet_gets_nothing(
    monkeypatch: Any, stream: io.StringIO, quiet: bool
) -> None:
    monkeypatch.setattr("sys.stderr", stream)
    with api_cli._progress(argparse.Namespace(quiet=quiet), 3, "event") as bar:
        assert not isinstance(bar, api_cli.ProgressLines)
        bar.update(3)
    assert bool(stream.getvalue()) is not quiet
