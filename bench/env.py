"""The environment every benchmark runs in: fake AWS credentials, no real endpoint, no config files.

Nothing the bench does may reach the network: storage is a no-op, a sleeping fake, or the real
botocore client with its HTTP send replaced (see bench.stubs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIABENCHFAKEKEY0000",
    "AWS_SECRET_ACCESS_KEY": "bench-fake-secret",
    "AWS_SESSION_TOKEN": "bench-fake-token",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "RECORDS_TABLE": "bench-records",
    "API_KEYS_TABLE": "bench-api-keys",
    "IDEMPOTENCY_TABLE": "bench-idempotency",
}
_DROPPED = (
    "PARLEY_DYNAMODB_ENDPOINT",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "PYTHONDONTWRITEBYTECODE",
)


def bench_env(**extra: str) -> dict[str, str]:
    """A copy of the current environment with the fake AWS settings applied."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(FAKE_AWS)
    env.update(extra)
    return env


def apply(log_level: str = "WARNING") -> None:
    """Set the bench environment in this process; call before any shared module reads settings."""
    for name in _DROPPED:
        os.environ.pop(name, None)
    os.environ.update(FAKE_AWS)
    os.environ["LOG_LEVEL"] = log_level
