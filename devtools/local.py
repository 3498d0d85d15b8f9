"""What the local server and the `parley` CLI agree on: table names and AWS client defaults."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from devtools.template import ROOT, load_template, table_environment

# Tables outside AWS are named "<prefix>-<LogicalId>" (see devtools.template.table_names).
TABLE_PREFIX = "parley-local"
ENDPOINT_VAR = "PARLEY_DYNAMODB_ENDPOINT"
S3_ENDPOINT_VAR = "PARLEY_S3_ENDPOINT"
# The raw archive's bucket outside AWS (devtools.server creates it).
ARCHIVE_BUCKET = f"{TABLE_PREFIX}-archive"
# Where a running `make dev` tells the CLI its endpoints (git-ignored; removed on a clean exit).
STATE_VAR = "PARLEY_DEV_STATE"
DEFAULT_STATE_FILE = ROOT / ".parley-dev.json"
DEFAULT_REGION = "us-east-1"
_CREDENTIAL_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def local_table(env_var: str) -> str:
    """The local server's name for the table an environment variable (e.g. API_KEYS_TABLE)
    points at in template.yaml."""
    return table_environment(load_template(), TABLE_PREFIX)[env_var]


def ensure_aws_environment(*, local_endpoint: bool) -> None:
    """A region that the server, the CLI and the handlers' settings all agree on; for a local
    endpoint also dummy credentials when the environment names none (a local endpoint accepts
    any, and the server and the CLI apply the same rule, so DynamoDB Local sees one account)."""
    if local_endpoint and not any(os.environ.get(var) for var in _CREDENTIAL_VARS):
        os.environ["AWS_ACCESS_KEY_ID"] = "local"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 (not a secret)
        os.environ.pop("AWS_SESSION_TOKEN", None)
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    os.environ["AWS_REGION"] = region
    os.environ.setdefault("AWS_DEFAULT_REGION", region)


@dataclass(frozen=True)
class DevServerState:
    """What a running `make dev` writes to its state file for the CLI."""

    pid: int
    base_url: str
    dynamodb_endpoint: str
    api_keys_table: str
    # The raw archive, when the server has one (`parley replay` reads it).
    s3_endpoint: str | None = None
    archive_bucket: str | None = None
    # The first seeded key (a local key for a local table): `parley ingest`, `records`… use it
    # when neither --key nor PARLEY_KEY is given. The file is written readable by its owner only.
    api_key: str = ""


def state_file() -> Path:
    return Path(os.environ.get(STATE_VAR, "").strip() or DEFAULT_STATE_FILE)


def write_state(state: DevServerState, path: Path) -> None:
    """Write atomically, so a reader never sees half a file."""
    partial = path.with_name(f"{path.name}.{state.pid}.tmp")
    partial.touch(mode=0o600)
    partial.write_text(json.dumps(asdict(state), indent=2) + "\n")
    partial.replace(path)


def remove_state(path: Path, pid: int) -> None:
    """Remove the file if it is still this server's (a later `make dev` may have replaced it)."""
    current = read_state(path)
    if current is not None and current.pid == pid:
        path.unlink(missing_ok=True)


def read_state(path: Path) -> DevServerState | None:
    try:
        state = DevServerState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    texts = (state.base_url, state.dynamodb_endpoint, state.api_keys_table, state.api_key)
    if type(state.pid) is not int or state.pid <= 0 or not all(isinstance(t, str) for t in texts):
        return None
    return state


def running_dev_server(path: Path) -> DevServerState | None:
    """The state of the `make dev` recorded in `path`, if that process is still alive."""
    state = read_state(path)
    if state is None or not _alive(state.pid):
        return None
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True
