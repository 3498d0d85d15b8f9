"""Typed settings, read from the environment once per cold start."""

# No `from __future__ import annotations` in this module: pydantic would compile every field's
# annotation from its string when the class is made, on every cold start (docs/performance.md).
import json
import os
import tempfile
from functools import lru_cache
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class Quota(BaseModel):
    """A tenant's daily allowance (shared/quotas.py): events and body bytes per UTC day."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    events_per_day: int = Field(alias="eventsPerDay", ge=0)
    bytes_per_day: int = Field(alias="bytesPerDay", ge=0)


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    records_table: str = "parley-records"
    api_keys_table: str = "parley-api-keys"
    idempotency_table: str = "parley-idempotency"
    conversations_table: str = "parley-conversations"
    # S3 bucket of the raw archive of accepted ingest bodies; None turns the archive off.
    archive_bucket: str | None = None
    summaries_table: str = "parley-conversation-summaries"
    aws_region: str = "us-east-1"
    # Any DynamoDB-protocol endpoint (the local server's, DynamoDB Local); None means AWS.
    dynamodb_endpoint: str | None = None
    # Any S3-protocol endpoint (the local server's moto); None means AWS.
    s3_endpoint: str | None = None
    # Upper bound on how long one request may spend retrying storage before answering 503.
    storage_deadline_seconds: float = Field(default=8.0, gt=0)
    # Parallel BatchWriteItem calls per request.
    write_concurrency: int = Field(default=16, ge=1, le=64)
    # How long one DynamoDB call may wait for its answer before it counts as a transient fault
    # (retried within the storage deadline).
    dynamodb_read_timeout_seconds: float = Field(default=5.0, gt=0)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # Days a record stays in the records table after its last write (TTL); 0: forever.
    records_retention_days: int = Field(default=0, ge=0)
    # How long an Idempotency-Key stays claimed by a request in flight: longer than a Lambda
    # can run (29 s), so only a crashed request's claim ever expires.
    idempotency_claim_seconds: int = Field(default=60, ge=1)
    log_level: str = "INFO"
    webhooks_table: str = "parley-webhooks"
    # SQS queues of webhook delivery (URLs); the endpoint is for a local SQS (make dev).
    webhook_queue_url: str = ""
    webhook_dlq_url: str = ""
    sqs_endpoint: str | None = None
    # Local mode (make dev): webhooks may also go to http://127.0.0.1 and http://localhost.
    local_mode: bool = False
    # One delivery attempt: connect + answer, in seconds.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Retry schedule: first retry after `base`, doubling up to `max_delay`, until the event
    # has been failing for `window` seconds; then it is parked in the DLQ.
    webhook_retry_base_seconds: int = Field(default=30, ge=1)
    webhook_retry_max_delay_seconds: int = Field(default=4 * 3600, ge=1, le=12 * 3600)
    webhook_retry_window_seconds: int = Field(default=24 * 3600, ge=1)
    # Endpoints one tenant may register.
    max_webhooks_per_tenant: int = Field(default=20, ge=1)
    # Insights worker: which analyzer (shared/insights/), and Bedrock's model when it is used.
    insights_analyzer: Literal["local", "bedrock"] = "local"
    bedrock_model_id: str = "anthropic.claude-3-haiku-20240307-v1:0"
    # Conversation text sent to Bedrock at most (the middle is cut, and the prompt says so).
    bedrock_max_input_chars: int = Field(default=60_000, ge=1_000)
    bedrock_timeout_seconds: float = Field(default=30.0, gt=0)
    # Signs every list's cursors (shared.cursors); None: one per process.
    cursor_secret: SecretStr | None = None
    # The web console's origin (scheme://host[:port]) when it is not this API's own: answers
    # then carry CORS headers for that origin only (shared.http.allow_console). None: no CORS.
    console_origin: str | None = Field(default=None, pattern=r"^https?://[^/\s]+$")
    # The Parquet lake: a local folder (make dev) or s3://bucket/prefix; search's index lives
    # beside the records in {lake_uri}/index/ (docs/search.md).
    lake_uri: str = Field(default=".parley-lake", min_length=1)
    # Where search keeps its local copies of S3 files (index and tail), by ETag.
    search_cache_dir: str = Field(
        default_factory=lambda: os.path.join(tempfile.gettempdir(), "parley-search")
    )
    # How often a warm search function looks for a newer index on S3 (a stale one stays
    # correct: partitions it has not indexed yet are read as the tail).
    search_index_refresh_seconds: float = Field(default=30.0, ge=0)
    # Daily quotas (shared/quotas.py): by usage plan (a key's `plan`; keys without one get
    # "default" if it is set, else none), and per tenant, which wins over its plan. JSON in
    # the environment: {"free": {"eventsPerDay": 100000, "bytesPerDay": 524288000}, ...}.
    plan_quotas: dict[str, Quota] = Field(default_factory=dict)
    tenant_quotas: dict[str, Quota] = Field(default_factory=dict)
    usage_table: str = "parley-usage"
    # How often a process writes its tenants' counts and reads every process's totals back.
    usage_flush_seconds: float = Field(default=10.0, ge=0)
    # On AWS the cursor-signing secret lives in Secrets Manager (shared/cursors.py); locally
    # cursor_secret, or none.
    cursor_secret_arn: str | None = None
    # Webhook signing secrets are sealed under this KMS key (shared/webhooks/crypto.py); without
    # one (make dev, tests) under a local key file.
    webhook_kms_key_id: str | None = None
    webhook_key_file: str = ".parley-webhook.key"
    # How long a rotated-out webhook secret keeps signing deliveries beside the new one.
    webhook_secret_overlap_seconds: int = Field(default=24 * 3600, ge=0)

    @field_validator("plan_quotas", "tenant_quotas", mode="before")
    @classmethod
    def _quotas_from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    # Clusters (docs/clusters.md): the embedder (`bedrock`: Titan Text Embeddings V2), the days
    # of conversations a re-clustering covers, and how many assignment passes one scheduled
    # run makes, 30 s apart (2 on AWS: a 1-minute schedule then assigns within about 40 s).
    clusters_embedder: Literal["local", "bedrock"] = "local"
    clusters_window_days: int = Field(default=90, ge=1, le=366)
    clusters_assign_passes: int = Field(default=1, ge=1, le=2)

    @classmethod
    def from_env(cls) -> Self:
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
    "summaries_table": "SUMMARIES_TABLE",
    "aws_region": "AWS_REGION",
    "dynamodb_endpoint": "PARLEY_DYNAMODB_ENDPOINT",
    "s3_endpoint": "PARLEY_S3_ENDPOINT",
    "storage_deadline_seconds": "PARLEY_STORAGE_DEADLINE_SECONDS",
    "write_concurrency": "PARLEY_WRITE_CONCURRENCY",
    "dynamodb_read_timeout_seconds": "PARLEY_DYNAMODB_READ_TIMEOUT_SECONDS",
    "idempotency_ttl_hours": "PARLEY_IDEMPOTENCY_TTL_HOURS",
    "records_retention_days": "PARLEY_RECORDS_RETENTION_DAYS",
    "idempotency_claim_seconds": "PARLEY_IDEMPOTENCY_CLAIM_SECONDS",
    "log_level": "LOG_LEVEL",
    "webhooks_table": "WEBHOOKS_TABLE",
    "webhook_queue_url": "WEBHOOK_QUEUE_URL",
    "webhook_dlq_url": "WEBHOOK_DLQ_URL",
    "sqs_endpoint": "PARLEY_SQS_ENDPOINT",
    "local_mode": "PARLEY_LOCAL_MODE",
    "webhook_timeout_seconds": "PARLEY_WEBHOOK_TIMEOUT_SECONDS",
    "webhook_retry_base_seconds": "PARLEY_WEBHOOK_RETRY_BASE_SECONDS",
    "webhook_retry_max_delay_seconds": "PARLEY_WEBHOOK_RETRY_MAX_DELAY_SECONDS",
    "webhook_retry_window_seconds": "PARLEY_WEBHOOK_RETRY_WINDOW_SECONDS",
    "max_webhooks_per_tenant": "PARLEY_MAX_WEBHOOKS_PER_TENANT",
    "insights_analyzer": "PARLEY_INSIGHTS_ANALYZER",
    "bedrock_model_id": "PARLEY_BEDROCK_MODEL_ID",
    "bedrock_max_input_chars": "PARLEY_BEDROCK_MAX_INPUT_CHARS",
    "bedrock_timeout_seconds": "PARLEY_BEDROCK_TIMEOUT_SECONDS",
    "cursor_secret": "PARLEY_CURSOR_SECRET",
    "console_origin": "PARLEY_CONSOLE_ORIGIN",
    "lake_uri": "LAKE_URI",
    "search_cache_dir": "PARLEY_SEARCH_CACHE_DIR",
    "search_index_refresh_seconds": "PARLEY_SEARCH_INDEX_REFRESH_SECONDS",
    "plan_quotas": "PARLEY_PLAN_QUOTAS",
    "tenant_quotas": "PARLEY_TENANT_QUOTAS",
    "usage_table": "USAGE_TABLE",
    "usage_flush_seconds": "PARLEY_USAGE_FLUSH_SECONDS",
    "cursor_secret_arn": "PARLEY_CURSOR_SECRET_ARN",
    "webhook_kms_key_id": "PARLEY_WEBHOOK_KMS_KEY_ID",
    "webhook_key_file": "PARLEY_WEBHOOK_KEY_FILE",
    "webhook_secret_overlap_seconds": "PARLEY_WEBHOOK_SECRET_OVERLAP_SECONDS",
    "clusters_embedder": "PARLEY_CLUSTERS_EMBEDDER",
    "clusters_window_days": "PARLEY_CLUSTERS_WINDOW_DAYS",
    "clusters_assign_passes": "PARLEY_CLUSTERS_ASSIGN_PASSES",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
