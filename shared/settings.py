"""Typed settings, read from the environment once per cold start."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    records_table: str = "parley-records"
    api_keys_table: str = "parley-api-keys"
    idempotency_table: str = "parley-idempotency"
    conversations_table: str = "parley-conversations"
    aws_region: str = "us-east-1"
    # Any DynamoDB-protocol endpoint (the local server's, DynamoDB Local); None means AWS.
    dynamodb_endpoint: str | None = None
    # Upper bound on how long one request may spend retrying storage before answering 503.
    storage_deadline_seconds: float = Field(default=8.0, gt=0)
    # Parallel BatchWriteItem calls per request.
    write_concurrency: int = Field(default=16, ge=1, le=64)
    # How long one DynamoDB call may wait for its answer before it counts as a transient fault
    # (retried within the storage deadline).
    dynamodb_read_timeout_seconds: float = Field(default=5.0, gt=0)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    log_level: str = "INFO"
    # Signs the records listing's cursors (shared.cursors); None: one per process.
    cursor_secret: SecretStr | None = None

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        values: dict[str, str] = {}
        for name, var in _ENV_VARS.items():
            if env.get(var):
                values[name] = env[var]
        return cls.model_validate(values)


# One environment variable per setting; the names are what template.yaml sets.
_ENV_VARS = {
    "records_table": "RECORDS_TABLE",
    "api_keys_table": "API_KEYS_TABLE",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "conversations_table": "CONVERSATIONS_TABLE",
    "aws_region": "AWS_REGION",
    "dynamodb_endpoint": "PARLEY_DYNAMODB_ENDPOINT",
    "storage_deadline_seconds": "PARLEY_STORAGE_DEADLINE_SECONDS",
    "write_concurrency": "PARLEY_WRITE_CONCURRENCY",
    "dynamodb_read_timeout_seconds": "PARLEY_DYNAMODB_READ_TIMEOUT_SECONDS",
    "idempotency_ttl_hours": "PARLEY_IDEMPOTENCY_TTL_HOURS",
    "log_level": "LOG_LEVEL",
    "cursor_secret": "PARLEY_CURSOR_SECRET",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
