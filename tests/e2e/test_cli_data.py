"""`parley ingest | conversations | records | export` against `python -m devtools.server`,
finding it (URL and key) through its state file as a user's shell would."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools import api_cli
from devtools.cli import main
from tests.e2e.client import request
from tests.e2e.conftest import ROOT, ServerProcess, new_key, start_server
from tests.e2e.summaries import wait_for_summaries

pytestmark = pytest.mark.e2e

EVENTS = 10_000  # the 100,000-event run is in docs/cli.md (too slow for every `make test`)
CONVERSATIONS = 50


@pytest.fixture(scope="module")
def dev() -> Iterator[ServerProcess]:
    running = start_server({"cli": new_key(), "other": new_key(), "both": new_key()})
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


def test_list_and_export_show_both_apis(dev: ServerProcess, tmp_path: Path) -> None:
    env = {"PARLEY_URL": dev.base_url, "PARLEY_KEY": dev.keys["both"]}
    created = request(
        "POST",
        f"{dev.base_url}/api/v1/conversations",
        key=dev.keys["both"],
        json_body={
            "promptId": "p-cli",
            "content": "User: hello\nAssistant: hi",
            "status": "completed",
        },
    )
    assert created.status == 200, created.body
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps({"conversation_id": "both-1", "role": "user", "message": "x"}))
    assert parley("ingest", str(source), state=None, **env)[0] == 0
    wait_for_summaries(dev.base_url, dev.keys["both"], 1)

    code, out, err = parley("conversations", "list", "--json", state=None, **env)
    assert code == 0, err
    listed = [json.loads(line) for line in out.splitlines()]
    assert [(c["api"], c.get("conversationId") or c["id"]) for c in listed] == [
        ("ingest", "both-1"),
        ("conversations", created.body["id"]),
    ]
    code, out, _ = parley("conversations", "list", state=None, **env)
    assert created.body["id"] in out
    assert "conversations" in out.splitlines()[2].split()

    exported = tmp_path / "export.jsonl"
    today = datetime.now(UTC).date().isoformat()
    code, _, err = parley("export", "--since", today, "-o", str(exported), state=None, **env)
    assert code == 0, err
    lines = [json.loads(line) for line in exported.open()]
    assert [line.get("conversation_id") for line in lines] == ["both-1", None]
    assert lines[1]["id"] == created.body["id"]
    assert [m["content"] for m in lines[1]["messages"]] == ["hello", "hi"]


def test_ingest_of_the_same_file_twice_stores_nothing_twice(
    dev: ServerProcess, tmp_path: Path
) -> None:
    env = {"PARLEY_URL": dev.base_url, "PARLEY_KEY": dev.keys["both"]}
    source = tmp_path / "no-ids.jsonl"  # neither id nor timestamp: only the key dedupes
    source.write_text(
        "".join(
            json.dumps({"conversation_id": "twice", "role": "user", "message": f"m{i}"}) + "\n"
            for i in range(5)
        )
    )
    code, _, err = parley("ingest", str(source), state=None, **env)
    assert code == 0, err
    assert "replayed" not in err
    code, _, err = parley("ingest", str(source), state=None, **env)
    assert code == 0, err
    assert "1 chunks (5 events) were already sent (replayed)" in err
    assert "Stored 0 events" in err
    code, out, _ = parley("records", "twice", "--format", "jsonl", state=None, **env)
    assert len(out.splitlines()) == 5


def test_unknown_ids_are_named_and_exit_1(dev: ServerProcess) -> None:
    env = {"PARLEY_URL": dev.base_url, "PARLEY_KEY": dev.keys["both"]}
    code, out, err = parley("records", "no-such-conversation", state=None, **env)
    assert (code, out) == (1, "")
    assert "no records for conversation 'no-such-conversation'" in err
    code, out, err = parley("conversations", "get", "no-such-conversation", state=None, **env)
    assert (code, out) == (1, "")
    assert "no conversation 'no-such-conversation'" in err


@pytest.mark.parametrize(
    "command",
    [
        ["conversations", "list"],
        ["conversations", "get", "c-1"],
        ["records", "c-1"],
        ["export", "--since", "2026-01-01"],
        ["search", "refund"],
        ["ingest", "-"],
    ],
)
def test_a_server_that_is_not_running_is_named_at_once(command: list[str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    code, out, err = parley(*command, state=None, PARLEY_URL=url, PARLEY_KEY="k")
    assert (code, out) == (2, "")
    # One line, before any retry loop (a retry loop would end "gave up after N attempts").
    assert err == f"parley: cannot reach Parley at {url}: is `make dev` running?\n"


def test_the_list_table_gives_conversations_api_rows_their_title_and_count(
    dev: ServerProcess,
) -> None:
    env = {"PARLEY_URL": dev.base_url, "PARLEY_KEY": dev.keys["other"]}
    created = request(
        "POST",
        f"{dev.base_url}/api/v1/conversations",
        key=dev.keys["other"],
        json_body={"promptId": "p-t", "content": "User: Where is my parcel?\nAssistant: Here."},
    )
    assert created.status == 200, created.body
    code, out, err = parley("conversations", "list", state=None, **env)
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[-1] == "TITLE"
    (row,) = [r for r in rows if created.body["id"] in r]
    assert row.split()[3:] == ["2", "completed", "Where", "is", "my", "parcel?"]


def ingest_through(stderr: int, dev: ServerProcess, source: Path) -> str:
    """`parley ingest` in its own process, its standard error on `stderr`."""
    env = {**os.environ, "PARLEY_URL": dev.base_url, "PARLEY_KEY": dev.keys["other"]}
    finished = subprocess.run(
        [sys.executable, "-m", "devtools.cli", "ingest", str(source)],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0
    return finished.stderr.decode() if finished.stderr else ""


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_in_a_log(
    dev: ServerProcess, tmp_path: Path
) -> None:
    source = tmp_path / "progress.jsonl"
    source.write_text(
        "".join(
            json.dumps({"conversation_id": "progress", "role": "user", "message": f"m{i}"}) + "\n"
            for i in range(3)
        )
    )
    # A pipe (a log, CI): no carriage-return frames, only whole lines.
    logged = ingest_through(subprocess.PIPE, dev, source)
    assert "\r" not in logged
    assert "Stored 3 events" in logged
    # A terminal: the bar, redrawn in place.
    leader, follower = pty.openpty()
    # A terminal 100 columns wide (a new pseudo-terminal has none: the bar would be empty).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    try:
        ingest_through(follower, dev, source)
        os.close(follower)
        drawn = b""
        with contextlib.suppress(OSError):  # EIO once the writer is gone and all is read
            while chunk := os.read(leader, 65536):
                drawn += chunk
    finally:
        os.close(leader)
    frames = drawn.replace(b"\r\n", b"\n")  # the terminal's own line ends aside
    assert b"\r" in frames  # redrawn in place
    assert b"100%" in frames  # the bar, on the terminal only
    assert b"already sent (replayed)" in drawn  # the second run of the same file


def test_plain_progress_lines_come_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(api_cli.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    lines = api_cli.ProgressLines(1000, "event", out)
    lines.update(10)
    assert out.getvalue() == ""  # nothing before the first interval
    now[0] += api_cli.PROGRESS_EVERY
    lines.update(10)
    assert out.getvalue() == f"20 of 1,000 events ({20 / api_cli.PROGRESS_EVERY:,.0f}/s)\n"


@pytest.mark.parametrize("flags", [["--json"], []])
def test_a_closed_pipe_ends_quietly(dev: ServerProcess, flags: list[str]) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader (`| head`) is gone before the first line
    env = {**os.environ, "PARLEY_URL": dev.base_url, "PARLEY_KEY": dev.keys["cli"]}
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "devtools.cli", "conversations", "list", *flags],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert finished.returncode == 141, finished.stderr
    assert finished.stderr == b""
