"""The insights worker: DynamoDB stream records of ConversationsTable in, insights stored once.

The event source mapping's filter (template.yaml) only passes META records of analyzable
conversations that became `completed`; the same checks are repeated here, so a record the
filter should not have passed (or the local runner without filters) does nothing.

Once: insights are written with a condition (none yet), so a redelivered or replayed record,
or two records that both complete the conversation, store one analysis. Outcomes per record:
- analyzed and stored, or already analyzed: done;
- the analyzer says it can never analyze this conversation (or fails unexpectedly — retrying
  a deterministic analyzer cannot help): `insights_failure` is recorded, the SDK shows `failed`;
- the analyzer or storage is unavailable for now: the record is reported as a batch item
  failure, so Lambda retries from it (bounded; then the on-failure queue), never blocking
  the shard for long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from shared.conversations.models import Conversation
from shared.conversations.store import ConversationStore
from shared.conversations.store.items import META
from shared.dynamo import Deadline
from shared.errors import StorageUnavailable
from shared.fields import format_timestamp
from shared.insights.analysis import AnalysisFailed, AnalysisUnavailable, Analyzer
from shared.logs import get_logger

log = get_logger("insights")

Outcome = Literal["stored", "already", "failed", "skipped"]


@dataclass(frozen=True)
class Completed:
    """A stream record announcing an analyzable conversation that is completed."""

    tenant: str
    conversation_id: str


def completed_conversation(record: dict[str, Any]) -> Completed | None:
    """The conversation a record asks to analyze, None for every other record."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return None
    image = record.get("dynamodb", {}).get("NewImage") or {}
    if image.get("sk", {}).get("S") != META:
        return None
    if image.get("status", {}).get("S") != "completed":
        return None
    if not image.get("analyzable", {}).get("BOOL"):
        return None
    if "insights" in image or "insights_failure" in image:
        return None
    tenant, _, conversation_id = image["pk"]["S"].partition("#")
    return Completed(tenant, conversation_id)


class InsightsWorker:
    def __init__(
        self,
        store: ConversationStore,
        analyzer: Analyzer,
        deadline_seconds: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._analyzer = analyzer
        self._deadline_seconds = deadline_seconds
        self._clock = clock

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        """A stream batch → the partial batch response (ReportBatchItemFailures). Stops at the
        first record to retry: Lambda retries from it, and what follows comes again anyway."""
        for record in event.get("Records", []):
            try:
                self.process(record)
            except (AnalysisUnavailable, StorageUnavailable) as exc:
                log.warning(
                    "insights deferred", extra={"error": type(exc).__name__, "detail": str(exc)}
                )
                sequence = record["dynamodb"]["SequenceNumber"]
                return {"batchItemFailures": [{"itemIdentifier": sequence}]}
        return {"batchItemFailures": []}

    def process(self, record: dict[str, Any]) -> Outcome:
        target = completed_conversation(record)
        if target is None:
            return "skipped"
        deadline = Deadline(self._deadline_seconds)
        conversation = self._store.load(target.tenant, target.conversation_id, deadline)
        if conversation is None or conversation.status != "completed":
            return "skipped"  # deleted since, or an old record replayed
        if conversation.insights is not None:
            return "already"
        outcome = self._analyze(target, conversation, deadline)
        log.info(
            "insights",
            extra={
                "conversation_id": target.conversation_id,
                "tenant": target.tenant,
                "outcome": outcome,
                "analyzer": self._analyzer.name,
            },
        )
        return outcome

    def _analyze(
        self, target: Completed, conversation: Conversation, deadline: Deadline
    ) -> Outcome:
        try:
            analysis = self._analyzer.analyze(conversation.messages or [])
        except AnalysisUnavailable:
            raise
        except Exception as exc:
            if not isinstance(exc, AnalysisFailed):
                log.exception("analyzer failed", extra={"conversation_id": target.conversation_id})
            reason = str(exc) if isinstance(exc, AnalysisFailed) else "The analyzer failed"
            self._store.save_insights_failure(
                target.tenant, target.conversation_id, reason, deadline
            )
            return "failed"
        insights = analysis.insights(format_timestamp(self._clock()), self._analyzer.name)
        stored = self._store.save_insights(
            target.tenant, target.conversation_id, insights, deadline
        )
        return "stored" if stored else "already"
