"""`parley ingest | conversations | records | export` against `python -m devtools.server`,
finding it (URL and key) through its state file as a user's shell would."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.cli import main
from tests.e2e.conftest import ROOT, ServerProcess, new_key, start_server
from tests.e2e.summaries import wait_for_summaries

pytestmark = pytest.mark.e2e

EVENTS = 10_000  # the 100,000-event run is in the README (too slow for every `make test`)
CONVERSATIONS = 50


@pytest.fixture(scope="module")
def dev() -> Iterator[ServerProcess]:
    running = start_server({"cli": new_key(), "other": new_key()})
    try:
        yield running
    finally:
        assert running.stop(signal.SIGINT) == 0, running.output


def parley(*args: str, state: Path | None, **env: str) -> tuple[int, str, str]:
    saved = dict(os.environ)
    for name in ("PARLEY_URL", "PARLEY_KEY"):
        os.environ.pop(name, None)
    os.environ["PARLEY_DEV_STATE"] = str(state or ROOT / "tests" / "no-such-state-file.json")
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--quiet"] if args[0] != "--help" else list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue()


def test_ingest_reports_refused_events_then_export_gives_every_record_back(
    dev: ServerProcess, tmp_path: Path
) -> None:
    source = tmp_path / "history.jsonl"
    with source.open("w") as out:
        for i in range(EVENTS):
            event = {
                "id": f"evt-{i}",
                "conversation_id": f"cli-{i % CONVERSATIONS:03d}",
                "role": "user" if i % 2 == 0 else "assistant",
                "message": f"message {i}",
            }
            out.write(json.dumps(event) + "\n")
            if i == 10:
                out.write("{not json\n")
            if i == 20:
                out.write(json.dumps({"conversation_id": "cli-bad", "role": "robot"}) + "\n")

    code, _, err = parley("ingest", str(source), state=dev.state_file)
    assert code == 3, err
    assert f"Stored {EVENTS:,} events ({EVENTS:,} records)" in err
    assert "refused 2." in err
    refused = [json.loads(line) for line in (tmp_path / "history.jsonl.refused.jsonl").open()]
    assert [r["index"] for r in refused] == [11, 22]
    assert "line 12 is not JSON" in refused[0]["message"]
    assert refused[1]["event"] == {"conversation_id": "cli-bad", "role": "robot"}

    wait_for_summaries(dev.base_url, dev.keys["cli"], EVENTS)  # the worker runs off the stream
    code, out, err = parley("conversations", "list", "--json", state=dev.state_file)
    assert code == 0, err
    listed = [json.loads(line) for line in out.splitlines()]
    assert len(listed) == CONVERSATIONS
    assert sum(c["recordCount"] for c in listed) == EVENTS

    exported = tmp_path / "export.jsonl"
    today = datetime.now(UTC).date().isoformat()
    code, _, err = parley("export", "--since", today, "-o", str(exported), state=dev.state_file)
    assert code == 0, err
    assert f"Exported {EVENTS:,} records of {CONVERSATIONS:,} conversations" in err
    messages = [json.loads(line)["message"] for line in exported.open()]
    assert sorted(messages) == sorted(f"message {i}" for i in range(EVENTS))


def test_records_in_each_format(dev: ServerProcess, tmp_path: Path) -> None:
    source = tmp_path / "one.json"
    source.write_text(
        json.dumps(
            {
                "events": [
                    {"conversation_id": "cli-formats", "role": "user", "message": "hello there"},
                    {"conversation_id": "cli-formats", "role": "assistant", "message": "hi!"},
                ]
            }
        )
    )
    assert parley("ingest", str(source), state=dev.state_file)[0] == 0

    code, out, _ = parley("records", "cli-formats", "--format", "jsonl", state=dev.state_file)
    assert code == 0
    assert [json.loads(line)["message"] for line in out.splitlines()] == ["hello there", "hi!"]
    code, out, _ = parley("records", "cli-formats", "--format", "json", state=dev.state_file)
    assert [r["role"] for r in json.loads(out)] == ["user", "assistant"]
    code, out, _ = parley("records", "cli-formats", state=dev.state_file)
    lines = out.splitlines()
    assert lines[0].split() == ["TIMESTAMP", "SOURCE", "ROLE", "MESSAGE"]
    assert lines[1].split()[1:] == ["chat", "user", "hello", "there"]

    code, out, err = parley("conversations", "get", "cli-formats", state=dev.state_file)
    assert code == 0, err
    assert len(json.loads(out)["records"]) == 2


def test_flags_and_env_win_and_a_wrong_key_fails(dev: ServerProcess) -> None:
    other = dev.keys["other"]
    code, out, _ = parley(
        "conversations", "list", "--json", state=None, PARLEY_URL=dev.base_url, PARLEY_KEY=other
    )
    assert code == 0
    assert out == ""  # another tenant sees none of `cli`'s conversations
    code, _, err = parley(
        "records",
        "x",
        "--url",
        dev.base_url,
        "--key",
        "prl_wrong-key-000000000000000000000",
        state=None,
    )
    assert code == 1
    assert "HTTP 401" in err


def test_without_a_server_or_settings_it_says_what_to_set() -> None:
    code, _, err = parley("conversations", "list", state=None)
    assert code == 2
    assert "PARLEY_URL" in err
    assert "make dev" in err


@pytest.mark.parametrize(
    "command",
    [["ingest"], ["records"], ["export"], ["conversations", "list"], ["conversations", "get"]],
)
def test_every_command_has_help(command: list[str]) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "--url" in out.getvalue()
