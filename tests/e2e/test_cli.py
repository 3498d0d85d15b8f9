"""`parley keys …` against the running local server's DynamoDB endpoint."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.cli import main
from tests.e2e.client import request
from tests.e2e.conftest import ROOT, ServerProcess

pytestmark = pytest.mark.e2e

BODY = '{"events": [{"conversation_id": "conv-cli", "role": "user", "message": "hi"}]}'
KEY_RE = re.compile(r"prl_[A-Za-z0-9_-]{32,}")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def parley(*args: str, endpoint: str | None, **env: str) -> Result:
    """Run the CLI in-process (fast); test_the_console_script covers the installed script.
    Never finds a `make dev` of the checkout: only a state file the test names."""
    saved = dict(os.environ)
    os.environ.pop("API_KEYS_TABLE", None)
    os.environ.pop("PARLEY_DYNAMODB_ENDPOINT", None)
    os.environ["PARLEY_DEV_STATE"] = str(ROOT / "tests" / "no-such-state-file.json")
    if endpoint:
        os.environ["PARLEY_DYNAMODB_ENDPOINT"] = endpoint
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return Result(code, out.getvalue(), err.getvalue())


def ingest_status(server: ServerProcess, key: str) -> int:
    return request("POST", server.base_url + "/v1/ingest", key=key, data=BODY).status


def listed(server: ServerProcess, tenant: str) -> list[dict[str, Any]]:
    result = parley("keys", "list", "--tenant", tenant, "--json", endpoint=server.dynamodb_endpoint)
    assert result.returncode == 0, result.stderr
    keys: list[dict[str, Any]] = json.loads(result.stdout)
    return keys


def test_create_list_and_revoke_by_key_id(server: ServerProcess) -> None:
    created = parley("keys", "create", "--tenant", "initech", endpoint=server.dynamodb_endpoint)
    assert created.returncode == 0, created.stderr
    assert "not shown again" in created.stdout
    key = KEY_RE.search(created.stdout)
    assert key, created.stdout
    assert ingest_status(server, key.group()) == 200

    (info,) = listed(server, "initech")
    assert info["prefix"] == key.group()[:12]
    assert info["revoked_at"] is None
    table = parley("keys", "list", endpoint=server.dynamodb_endpoint)
    assert info["key_id"] in table.stdout
    assert key.group() not in table.stdout  # only the hash is stored

    revoked = parley("keys", "revoke", info["key_id"], endpoint=server.dynamodb_endpoint)
    assert revoked.returncode == 0, revoked.stderr
    assert ingest_status(server, key.group()) == 401
    (info,) = listed(server, "initech")
    assert info["revoked_at"] is not None

    again = parley("keys", "revoke", info["key_id"], endpoint=server.dynamodb_endpoint)
    assert again.returncode == 0
    assert "already revoked" in again.stdout


def test_revoke_by_the_key_itself(server: ServerProcess) -> None:
    created = parley("keys", "create", "--tenant", "umbrella", endpoint=server.dynamodb_endpoint)
    key = KEY_RE.search(created.stdout)
    assert key, created.stdout + created.stderr
    revoked = parley("keys", "revoke", key.group(), endpoint=server.dynamodb_endpoint)
    assert revoked.returncode == 0, revoked.stderr
    assert ingest_status(server, key.group()) == 401


def test_the_seeded_keys_are_listed(server: ServerProcess) -> None:
    assert [k["prefix"] for k in listed(server, "acme")] == [server.keys["acme"][:12]]


def test_unknown_key_and_bad_tenant(server: ServerProcess) -> None:
    missing = parley("keys", "revoke", "key_0000000000000000", endpoint=server.dynamodb_endpoint)
    assert missing.returncode == 1
    assert "No key key_0000000000000000" in missing.stderr
    bad = parley("keys", "create", "--tenant", "a#b", endpoint=server.dynamodb_endpoint)
    assert bad.returncode == 2
    assert "Tenant ids" in bad.stderr


def test_a_missing_table_is_explained(server: ServerProcess) -> None:
    result = parley("keys", "list", endpoint=server.dynamodb_endpoint, API_KEYS_TABLE="nope")
    assert result.returncode == 1
    assert "'nope'" in result.stderr
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_nothing_configured_and_no_running_server_is_explained() -> None:
    result = parley("keys", "list", endpoint=None)
    assert result.returncode == 2
    assert "No running `make dev` found" in result.stderr
    assert "no-such-state-file.json" in result.stderr
    assert "API_KEYS_TABLE" in result.stderr
    assert "ApiKeysTableName" in result.stderr


def test_the_running_server_is_found_through_its_state_file(server: ServerProcess) -> None:
    state = json.loads(server.state_file.read_text())
    assert state == {
        "pid": server.process.pid,
        "base_url": server.base_url,
        "dynamodb_endpoint": server.dynamodb_endpoint,
        "api_keys_table": "parley-local-ApiKeysTable",
        # the embedded moto server serves the raw archive's S3 too
        "s3_endpoint": server.dynamodb_endpoint,
        "archive_bucket": "parley-local-archive",
        "api_key": server.keys["acme"],  # the first seeded key: the HTTP commands' default
    }
    assert server.state_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    found = {"PARLEY_DEV_STATE": str(server.state_file)}
    created = parley("keys", "create", "--tenant", "wayne", endpoint=None, **found)
    assert created.returncode == 0, created.stderr
    key = KEY_RE.search(created.stdout)
    assert key, created.stdout
    assert ingest_status(server, key.group()) == 200
    listing = parley("keys", "list", "--tenant", "wayne", endpoint=None, **found)
    assert key.group()[:12] in listing.stdout
    revoked = parley("keys", "revoke", key.group(), endpoint=None, **found)
    assert revoked.returncode == 0, revoked.stderr
    assert ingest_status(server, key.group()) == 401


def test_a_state_file_of_a_stopped_server_is_ignored(tmp_path: Path) -> None:
    finished = subprocess.Popen(["true"])  # once reaped, its pid belongs to no process
    finished.wait()
    state = tmp_path / "dev.json"
    state.write_text(
        json.dumps(
            {
                "pid": finished.pid,
                "base_url": "http://127.0.0.1:1",
                "dynamodb_endpoint": "http://127.0.0.1:1",
                "api_keys_table": "parley-local-ApiKeysTable",
            }
        )
    )
    result = parley("keys", "list", endpoint=None, PARLEY_DEV_STATE=str(state))
    assert result.returncode == 2
    assert "No running `make dev` found" in result.stderr


def test_the_console_script(server: ServerProcess) -> None:
    script = Path(sys.executable).with_name("parley")
    if not script.exists():
        pytest.skip("the parley console script is not installed (pip install -e .)")
    # As docs/operations.md writes it: no endpoint, no table; the CLI finds the running server.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("API_KEYS_TABLE", "PARLEY_DYNAMODB_ENDPOINT")
    }
    env["PARLEY_DEV_STATE"] = str(server.state_file)
    result = subprocess.run(
        [str(script), "keys", "create", "--tenant", "hooli"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    key = KEY_RE.search(result.stdout)
    assert key, result.stdout
    assert ingest_status(server, key.group()) == 200
