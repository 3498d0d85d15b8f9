"""What the local server and the `parley` CLI agree on: table names and AWS client defaults."""

from __future__ import annotations

import os

from devtools.template import load_template, table_environment

# Tables outside AWS are named "<prefix>-<LogicalId>" (see devtools.template.table_names).
TABLE_PREFIX = "parley-local"
ENDPOINT_VAR = "PARLEY_DYNAMODB_ENDPOINT"
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
