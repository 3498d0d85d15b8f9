"""The dev server's settings and the state file through which the CLI finds it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devtools.local import (
    DevServerState,
    read_state,
    remove_state,
    running_dev_server,
    write_state,
)
from devtools.server import ConfigError, read_timeout_from_env

STATE = DevServerState(os.getpid(), "http://127.0.0.1:1", "http://127.0.0.1:2", "keys")


@pytest.mark.parametrize(("raw", "seconds"), [("", 10.0), ("0.5", 0.5), (" 30 ", 30.0)])
def test_the_read_timeout(monkeypatch: pytest.MonkeyPatch, raw: str, seconds: float) -> None:
    monkeypatch.setenv("PARLEY_READ_TIMEOUT_SECONDS", raw)
    assert read_timeout_from_env() == seconds


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "nan", "inf", "3601"])
def test_a_bad_read_timeout_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("PARLEY_READ_TIMEOUT_SECONDS", raw)
    with pytest.raises(ConfigError, match="PARLEY_READ_TIMEOUT_SECONDS"):
        read_timeout_from_env()


def test_the_state_round_trips_and_names_a_live_server(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    write_state(STATE, path)
    assert read_state(path) == STATE
    assert running_dev_server(path) == STATE  # this test's own process is alive
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        "[]",
        json.dumps({"pid": "1", "base_url": "u", "dynamodb_endpoint": "e", "api_keys_table": "t"}),
        json.dumps({"pid": 0, "base_url": "u", "dynamodb_endpoint": "e", "api_keys_table": "t"}),
        json.dumps({"pid": 5, "base_url": "u", "dynamodb_endpoint": None, "api_keys_table": "t"}),
        json.dumps({"pid": 5}),
    ],
)
def test_a_damaged_state_file_names_no_server(tmp_path: Path, content: str) -> None:
    path = tmp_path / "dev.json"
    path.write_text(content)
    assert running_dev_server(path) is None


def test_a_server_removes_only_its_own_state(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    write_state(STATE, path)
    remove_state(path, STATE.pid + 1)  # a server that was replaced by this one
    assert path.exists()
    remove_state(path, STATE.pid)
    assert not path.exists()
    remove_state(path, STATE.pid)  # already gone: nothing to do
