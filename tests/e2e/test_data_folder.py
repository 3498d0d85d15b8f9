"""`make dev`'s data folder on a real `python -m devtools.server` (docs/local.md): after a
`kill -9` and a restart the dev key is the same and records, summaries and the lake are all
there; the stream-fed functions go on where they stopped (summaries count each record once);
`parley dev reset` is refused while the server runs and empties the folder once it stopped."""

from __future__ import annotations

import contextlib
import io
import re
import signal
from pathlib import Path

import pytest

from devtools.cli import main as parley
from tests.e2e.client import request
from tests.e2e.conftest import ServerProcess, start_server
from tests.e2e.summaries import wait_for_summaries
from tests.e2e.test_lake import lake_rows, wait_for

pytestmark = pytest.mark.e2e

_DEV_KEY = re.compile(r"^\s+dev: (prl_\S+)", re.MULTILINE)


def dev_key(server: ServerProcess) -> str:
    match = _DEV_KEY.search(server.output)
    assert match, server.output
    return match.group(1)


def ingest(server: ServerProcess, key: str, texts: list[str]) -> None:
    events = [{"conversation_id": "kept", "role": "user", "message": t} for t in texts]
    reply = request("POST", f"{server.base_url}/v1/ingest", key=key, json_body={"events": events})
    assert reply.status == 200, reply.body


def stored(server: ServerProcess, key: str) -> list[str]:
    reply = request("GET", f"{server.base_url}/v1/conversations/kept/records", key=key)
    assert reply.status == 200, reply.body
    return sorted(record["message"] for record in reply.body["data"])


def reset(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setenv("PARLEY_DATA_DIR", str(folder))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = parley(["dev", "reset"])
    return code, out.getvalue() + err.getvalue()


def test_a_restart_after_kill_9_keeps_everything_and_reset_starts_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    # The lake where make dev puts it: in the data folder.
    env = {"PARLEY_DATA_DIR": str(data), "LAKE_URI": str(data / "lake")}
    lake = data / "lake" / "records"
    first = start_server(None, env)
    key = dev_key(first)
    ingest(first, key, ["one", "two", "three"])
    wait_for_summaries(first.base_url, key, 3)
    assert len(wait_for(lambda: len(lake_rows(lake, "dev")) == 3 and lake_rows(lake, "dev"))) == 3
    first.stop(signal.SIGKILL)

    second = start_server(None, env)
    try:
        assert dev_key(second) == key  # the same key: the old one still works
        assert stored(second, key) == ["one", "three", "two"]
        ingest(second, key, ["four", "five"])
        # Exactly 5: the summaries worker neither skipped the new records nor counted the
        # old ones again (wait_for_summaries waits for an exact count).
        wait_for_summaries(second.base_url, key, 5)
        assert wait_for(lambda: len(lake_rows(lake, "dev")) == 5)
        code, said = reset(data, monkeypatch)
        assert code == 2, said
        assert "in use by a running `make dev`" in said
    finally:
        assert second.stop(signal.SIGINT) == 0, second.output

    code, said = reset(data, monkeypatch)
    assert code == 0, said
    assert f"emptied {data}" in said
    third = start_server(None, env)
    try:
        new_key = dev_key(third)
        assert new_key != key
        assert stored(third, new_key) == []
    finally:
        assert third.stop(signal.SIGINT) == 0, third.output
