"""Wiring: the stores and services a function uses, built once per cold start from settings.

Each API's modules are imported only by the function that builds its service, so a function
of one API does not pay the other's imports on cold start.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared import dynamo
from shared.dynamo import ParallelBatchWriter, default_client
from shared.settings import get_settings

if TYPE_CHECKING:
    from shared.auth import KeyStore
    from shared.clusters.service import ClusterService
    from shared.clusters.store import ClusterStore
    from shared.conversations.service import ConversationService
    from shared.conversations.store import ConversationStore
    from shared.idempotency import IdempotencyStore
    from shared.ingest.service import IngestService
    from shared.ingest.store import RecordStore
    from shared.ingest.summaries import SummaryStore, SummaryWorker
    from shared.insights.analysis import Analyzer
    from shared.insights.worker import InsightsWorker
    from shared.lake.compaction import Compactor
    from shared.lake.store import LakeStore
    from shared.lake.writer import ConversationsLakeWorker, RecordsLakeWorker
    from shared.otel.service import OtelService
    from shared.quotas import UsageCounter
    from shared.webhooks.crypto import SecretBox
    from shared.webhooks.delivery import Deliverer
    from shared.webhooks.fanout import FanOut
    from shared.webhooks.queue import WebhookQueue
    from shared.webhooks.service import WebhookService
    from shared.webhooks.store import WebhookStore


@lru_cache(maxsize=1)
def record_store() -> RecordStore:
    from shared.ingest.store import RecordStore

    settings = get_settings()
    writer = ParallelBatchWriter(default_client(), settings.write_concurrency)
    return RecordStore(
        default_client(), settings.records_table, writer, settings.records_retention_days
    )


@lru_cache(maxsize=1)
def summary_store() -> SummaryStore:
    from shared.ingest.summaries import SummaryStore

    return SummaryStore(default_client(), get_settings().summaries_table)


@lru_cache(maxsize=1)
def summary_worker() -> SummaryWorker:
    from shared.ingest.summaries import SummaryWorker

    settings = get_settings()
    return SummaryWorker(
        summary_store(), settings.storage_deadline_seconds, settings.write_concurrency
    )


@lru_cache(maxsize=1)
def key_store() -> KeyStore:
    from shared.auth import KeyStore

    return KeyStore(default_client(), get_settings().api_keys_table)


@lru_cache(maxsize=1)
def idempotency_store() -> IdempotencyStore:
    """`Idempotency-Key` claims and answers, for every route that takes the header."""
    from shared.idempotency import IdempotencyStore

    settings = get_settings()
    return IdempotencyStore(
        default_client(),
        settings.idempotency_table,
        settings.idempotency_ttl_hours * 3600,
        settings.idempotency_claim_seconds,
    )


@lru_cache(maxsize=1)
def ingest_service() -> IngestService:
    from shared.ingest.archive import ArchiveObjects, ArchiveStore
    from shared.ingest.service import IngestService

    settings = get_settings()
    archive = None
    if settings.archive_bucket:
        objects = ArchiveObjects(settings, settings.archive_bucket, dynamo.default_session())
        archive = ArchiveStore(objects)
    return IngestService(record_store(), idempotency_store(), archive, usage_counter())


@lru_cache(maxsize=1)
def conversation_store() -> ConversationStore:
    from shared.conversations.store import ConversationStore

    return ConversationStore(default_client(), get_settings().conversations_table)


@lru_cache(maxsize=1)
def conversation_service() -> ConversationService:
    from shared.conversations.service import ConversationService

    return ConversationService(conversation_store(), get_settings().idempotency_ttl_hours * 3600)


@lru_cache(maxsize=1)
def insights_analyzer() -> Analyzer:
    """The analyzer the settings choose (only the insights worker needs one)."""
    settings = get_settings()
    if settings.insights_analyzer == "bedrock":
        from shared.insights.bedrock import BedrockAnalyzer

        return BedrockAnalyzer.from_settings(settings)
    from shared.insights.local import LocalAnalyzer

    return LocalAnalyzer()


@lru_cache(maxsize=1)
def insights_worker() -> InsightsWorker:
    from shared.insights.worker import InsightsWorker

    deadline = get_settings().storage_deadline_seconds
    return InsightsWorker(conversation_store(), insights_analyzer(), deadline)


@lru_cache(maxsize=1)
def otel_service() -> OtelService:
    # Imported here: only the OTel functions load the OTLP mapping.
    from shared.otel.service import OtelService
    from shared.otel.store import TraceMap

    settings = get_settings()
    writer = ParallelBatchWriter(default_client(), settings.write_concurrency)
    return OtelService(record_store(), TraceMap(default_client(), settings.records_table, writer))


@lru_cache(maxsize=1)
def webhook_store() -> WebhookStore:
    from shared.webhooks.store import WebhookStore

    return WebhookStore(default_client(), get_settings().webhooks_table, webhook_secret_box())


@lru_cache(maxsize=1)
def webhook_secret_box() -> SecretBox:
    """Seals webhook secrets: under the KMS key on AWS, a local key file elsewhere."""
    from pathlib import Path

    from shared.webhooks.crypto import FileWrapper, KmsWrapper, SecretBox

    settings = get_settings()
    if settings.webhook_kms_key_id is None:
        return SecretBox(FileWrapper(Path(settings.webhook_key_file)))
    kms = dynamo.default_session().create_client("kms", region_name=settings.aws_region)
    return SecretBox(KmsWrapper(kms, settings.webhook_kms_key_id))


@lru_cache(maxsize=1)
def webhook_queue() -> WebhookQueue:
    from shared.webhooks.queue import WebhookQueue, sqs_client

    settings = get_settings()
    return WebhookQueue(sqs_client(), settings.webhook_queue_url, settings.webhook_dlq_url)


@lru_cache(maxsize=1)
def webhook_service() -> WebhookService:
    from shared.webhooks.service import WebhookService

    settings = get_settings()
    return WebhookService(
        webhook_store(),
        webhook_queue(),
        local_mode=settings.local_mode,
        max_per_tenant=settings.max_webhooks_per_tenant,
        rotation_overlap_seconds=settings.webhook_secret_overlap_seconds,
    )


@lru_cache(maxsize=1)
def fan_out() -> FanOut:
    from shared.webhooks.fanout import FanOut

    return FanOut(webhook_store(), webhook_queue())


@lru_cache(maxsize=1)
def deliverer() -> Deliverer:
    from shared.webhooks.delivery import Deliverer, Sender

    settings = get_settings()
    sender = Sender(settings.webhook_timeout_seconds, local_mode=settings.local_mode)
    return Deliverer(webhook_store(), webhook_queue(), sender, settings)


@lru_cache(maxsize=1)
def lake_store() -> LakeStore:
    from shared.lake.store import make_lake_store

    return make_lake_store(get_settings())


@lru_cache(maxsize=1)
def lake_records_worker() -> RecordsLakeWorker:
    from shared.lake.writer import RecordsLakeWorker

    return RecordsLakeWorker(lake_store())


@lru_cache(maxsize=1)
def lake_conversations_worker() -> ConversationsLakeWorker:
    from shared.lake.writer import ConversationsLakeWorker

    return ConversationsLakeWorker(
        conversation_store().load, lake_store(), get_settings().storage_deadline_seconds
    )


@lru_cache(maxsize=1)
def lake_compactor() -> Compactor:
    """Compacts the lake, then indexes each compacted partition for search (a failed index
    build leaves that day searchable through its compacted file, read like the tail)."""
    from shared.lake.compaction import Compactor
    from shared.search.index import on_compacted

    return Compactor(lake_store(), on_compacted=on_compacted)


@lru_cache(maxsize=1)
def usage_counter() -> UsageCounter:
    """Every write that stores events is charged to its tenant's daily quota."""
    from shared.quotas import UsageCounter

    return UsageCounter(default_client(), get_settings())


@lru_cache(maxsize=1)
def cluster_store() -> ClusterStore:
    from shared.clusters.store import ClusterStore

    return ClusterStore(lake_store())


@lru_cache(maxsize=1)
def cluster_service() -> ClusterService:
    """Re-clustering and assignment (numpy: only the clusters workers load it)."""
    from shared.clusters.embedding import make_embedder
    from shared.clusters.service import ClusterService

    settings = get_settings()
    return ClusterService(cluster_store(), make_embedder(settings), settings.clusters_window_days)


def reset() -> None:
    """Forget cached settings, client and stores (tests that change the environment)."""
    for cached in (
        record_store,
        summary_store,
        summary_worker,
        key_store,
        idempotency_store,
        ingest_service,
        conversation_store,
        conversation_service,
        otel_service,
        webhook_store,
        webhook_queue,
        webhook_service,
        fan_out,
        deliverer,
        insights_analyzer,
        insights_worker,
        lake_store,
        lake_records_worker,
        lake_conversations_worker,
        lake_compactor,
        usage_counter,
        webhook_secret_box,
        cluster_store,
        cluster_service,
        dynamo.default_client,
        dynamo.default_session,
    ):
        cached.cache_clear()
    get_settings.cache_clear()
