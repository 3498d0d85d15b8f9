"""Typed settings, read from the environment once per cold start."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    records_table: str = "parley-records"
    api_keys_table: str = "parley-api-keys"
    idempotency_table: str = "parley-idempotency"
    conversations_table: str = "parley-conversations"
    # S3 bucket of the raw archive of accepted ingest bodies; None turns the archive off.
    archive_bucket: str | None = None
    aws_region: str = "us-east-1"
    # Any DynamoDB-protocol endpoint (the local server's, DynamoDB Local); None means AWS.
    dynamodb_endpoint: str | None = None
    # Any S3-protocol endpoint (the local server's moto); None means AWS.
    s3_endpoint: str | None = None
    # Upper bound on how long one request may spend retrying storage before answering 503.
    storage_deadline_seconds: float = Field(default=8.0, gt=0)
    # Parallel BatchWriteItem calls per request.
    write_concurrency: int = Field(default=16, ge=1, le=64)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # How long an Idempotency-Key stays claimed by a request in flight: longer than a Lambda
    # can run (29 s), so only a crashed request's claim ever expires.
    idempotency_claim_seconds: int = Field(default=60, ge=1)
    log_level: str = "INFO"

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
    "archive_bucket": "ARCHIVE_BUCKET",
    "aws_region": "AWS_REGION",
    "dynamodb_endpoint": "PARLEY_DYNAMODB_ENDPOINT",
    "s3_endpoint": "PARLEY_S3_ENDPOINT",
    "storage_deadline_seconds": "PARLEY_STORAGE_DEADLINE_SECONDS",
    "write_concurrency": "PARLEY_WRITE_CONCURRENCY",
    "idempotency_ttl_hours": "PARLEY_IDEMPOTENCY_TTL_HOURS",
    "idempotency_claim_seconds": "PARLEY_IDEMPOTENCY_CLAIM_SECONDS",
    "log_level": "LOG_LEVEL",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
