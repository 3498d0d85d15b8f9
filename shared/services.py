"""Wiring: the stores and services a function uses, built once per cold start from settings.

Each API's modules are imported only by the function that builds its service, so a function
of one API does not pay the other's imports on cold start.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from shared import dynamo
from shared.auth import KeyStore
from shared.dynamo import ParallelBatchWriter, default_client
from shared.settings import get_settings

if TYPE_CHECKING:
    from shared.conversations.service import ConversationService
    from shared.ingest.pipeline import IngestService
    from shared.ingest.store import RecordStore
    from shared.ingest.summaries import SummaryStore
    from shared.otel.service import OtelService


@lru_cache(maxsize=1)
def record_store() -> RecordStore:
    from shared.ingest.store import RecordStore

    settings = get_settings()
    writer = ParallelBatchWriter(default_client(), settings.write_concurrency)
    return RecordStore(default_client(), settings.records_table, writer, summary_store())


@lru_cache(maxsize=1)
def summary_store() -> SummaryStore:
    from shared.ingest.summaries import SummaryStore

    settings = get_settings()
    return SummaryStore(default_client(), settings.summaries_table, settings.write_concurrency)


@lru_cache(maxsize=1)
def key_store() -> KeyStore:
    return KeyStore(default_client(), get_settings().api_keys_table)


@lru_cache(maxsize=1)
def ingest_service() -> IngestService:
    from shared.ingest.idempotency import IdempotencyStore
    from shared.ingest.pipeline import IngestService

    settings = get_settings()
    idempotency = IdempotencyStore(
        default_client(), settings.idempotency_table, settings.idempotency_ttl_hours * 3600
    )
    return IngestService(record_store(), idempotency)


@lru_cache(maxsize=1)
def conversation_service() -> ConversationService:
    from shared.conversations.service import ConversationService
    from shared.conversations.store import ConversationStore

    settings = get_settings()
    store = ConversationStore(default_client(), settings.conversations_table)
    return ConversationService(store, settings.idempotency_ttl_hours * 3600)


@lru_cache(maxsize=1)
def otel_service() -> OtelService:
    # Imported here: only the OTel functions load the OTLP mapping.
    from shared.otel.service import OtelService
    from shared.otel.traces import TraceMap

    settings = get_settings()
    writer = ParallelBatchWriter(default_client(), settings.write_concurrency)
    return OtelService(record_store(), TraceMap(default_client(), settings.records_table, writer))


def reset() -> None:
    """Forget cached settings, client and stores (tests that change the environment)."""
    for cached in (
        record_store,
        summary_store,
        key_store,
        ingest_service,
        conversation_service,
        otel_service,
        dynamo.default_client,
    ):
        cached.cache_clear()
    get_settings.cache_clear()
