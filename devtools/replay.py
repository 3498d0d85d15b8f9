"""`parley replay`: re-ingest a tenant's archived request bodies through today's normalization.

Each archived request runs again as the request it was (its request id, receive time and
Idempotency-Key), so it rebuilds the same record ids: records are overwritten, never added
twice, and records a fixed normalization bug got wrong are repaired.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from devtools.local import (
    ENDPOINT_VAR,
    S3_ENDPOINT_VAR,
    ensure_aws_environment,
    local_table,
    running_dev_server,
    state_file,
)
from shared.dynamo import Deadline, ParallelBatchWriter, make_client
from shared.errors import ApiError, StorageUnavailable
from shared.ingest.archive import ArchiveReader, make_s3_client
from shared.ingest.policies import DIRECT, MULTI
from shared.ingest.service import IngestPolicy, replay
from shared.ingest.store import RecordStore
from shared.ingest.vogent import VOGENT_RAW
from shared.settings import Settings

BUCKET_VAR = "ARCHIVE_BUCKET"
RECORDS_VAR = "RECORDS_TABLE"
# One archived request may hold up to 50,000 records.
_REQUEST_DEADLINE_SECONDS = 60.0
POLICIES: dict[str, IngestPolicy] = {p.route: p for p in (DIRECT, MULTI, VOGENT_RAW)}


class ReplayError(Exception):
    pass


@dataclass(frozen=True)
class ReplayTarget:
    dynamodb_endpoint: str | None
    s3_endpoint: str | None
    bucket: str
    records_table: str
    region: str

    def describe(self) -> str:
        where = self.s3_endpoint or f"AWS ({self.region})"
        return f"archive s3://{self.bucket} at {where} into table {self.records_table!r}"


def resolve_replay_target(bucket: str | None, records_table: str | None) -> ReplayTarget:
    """ARCHIVE_BUCKET (or --bucket) set: AWS, or the endpoints in PARLEY_DYNAMODB_ENDPOINT and
    PARLEY_S3_ENDPOINT; the records table from RECORDS_TABLE (or --records-table). Neither:
    the running `make dev`."""
    bucket = (bucket or os.environ.get(BUCKET_VAR, "")).strip() or None
    records_table = (records_table or os.environ.get(RECORDS_VAR, "")).strip() or None
    if bucket is not None:
        dynamodb = os.environ.get(ENDPOINT_VAR, "").strip() or None
        s3 = os.environ.get(S3_ENDPOINT_VAR, "").strip() or None
        if records_table is None:
            raise ReplayError(
                f"Set {RECORDS_VAR} (stack output RecordsTableName) or --records-table "
                f"with {BUCKET_VAR}."
            )
        ensure_aws_environment(local_endpoint=dynamodb is not None)
        return ReplayTarget(dynamodb, s3, bucket, records_table, os.environ["AWS_REGION"])
    running = running_dev_server(state_file())
    if running is None:
        raise ReplayError(
            f"No running `make dev` found (no live server in {state_file()}). Start `make dev`, "
            f"or set {BUCKET_VAR} (stack output ArchiveBucketName) and {RECORDS_VAR} for AWS."
        )
    if running.archive_bucket is None or running.s3_endpoint is None:
        raise ReplayError("The running `make dev` has no raw archive (it uses an external store).")
    ensure_aws_environment(local_endpoint=True)
    return ReplayTarget(
        running.dynamodb_endpoint,
        running.s3_endpoint,
        running.archive_bucket,
        records_table or local_table(RECORDS_VAR),
        os.environ["AWS_REGION"],
    )


@dataclass
class ReplaySummary:
    requests: int = 0
    records: int = 0
    refused_events: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (object key, why)


def replay_archive(
    target: ReplayTarget, tenant: str, since: date, until: date, console: Console
) -> ReplaySummary:
    settings = Settings.from_env().model_copy(
        update={
            "dynamodb_endpoint": target.dynamodb_endpoint,
            "s3_endpoint": target.s3_endpoint,
            "aws_region": target.region,
        }
    )
    client = make_client(settings)
    records = RecordStore(
        client,
        target.records_table,
        ParallelBatchWriter(client, settings.write_concurrency),
        settings.records_retention_days,
    )
    archive = ArchiveReader(make_s3_client(settings), target.bucket)
    keys = list(archive.keys(tenant, since, until))
    summary = ReplaySummary()
    columns = (
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("replay", total=len(keys))
        for key in keys:
            archived = archive.get(key)
            policy = POLICIES.get(archived.route)
            if policy is None:
                summary.failed.append((key, f"no ingest route {archived.route!r}"))
            else:
                try:
                    outcome = replay(records, policy, archived, Deadline(_REQUEST_DEADLINE_SECONDS))
                except StorageUnavailable:
                    raise
                except ApiError as exc:  # today's rules refuse it: report, go on with the rest
                    summary.failed.append((key, exc.message))
                else:
                    summary.requests += 1
                    summary.records += outcome.body["count"]
                    summary.refused_events += len(outcome.body.get("errors", []))
            progress.advance(task)
    return summary
