"""The conversations operations — create, append, get, list, insights — on domain objects, so
every route family (`/api/v1/conversations`, the Converra SDK's `/api/v1/runs`) shares them
and only shapes its own answers."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.conversations import limits
from shared.conversations.content import render_line
from shared.conversations.ids import is_conversation_id, new_agent_id, new_conversation_id
from shared.conversations.models import (
    CLOSED_STATUSES,
    Conversation,
    ConversationPage,
    ListFilters,
    Message,
    NewConversation,
    check_has_messages,
    is_analyzable,
)
from shared.conversations.store import ConversationStore
from shared.conversations.store.claims import IdempotencyClaim
from shared.conversations.store.items import chunk_messages
from shared.dynamo import Deadline
from shared.errors import (
    BadRequest,
    Conflict,
    Contended,
    NotFound,
    StorageUnavailable,
    UnprocessableContent,
)
from shared.fields import MAX_ID_CHARS, format_timestamp
from shared.logs import get_logger

# Lost races of one append before answering a retryable 503 (each loss means another append
# of the same conversation committed, so the conversation did move on): room for a few dozen
# concurrent writers of one conversation.
MAX_APPEND_ATTEMPTS = 20
_RACE_BACKOFF_SECONDS = 0.02
_MAX_CREATE_ATTEMPTS = 3
# After the storage deadline, the time to settle an append whose outcome is unknown (read,
# fence, read): long enough for several slow calls, since a 503 given while the write is still
# open may be followed by that write landing. The functions run 29 s at most; the storage
# deadline (PARLEY_STORAGE_DEADLINE_SECONDS, 20 s in template.yaml) plus this stays within.
_SETTLE_SECONDS = 2.0

Clock = Callable[[], datetime]

log = get_logger("conversations")


def request_hash(body: Any) -> str:
    """What an idempotent repeat must match: the parsed body, key order ignored."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def not_found(conversation_id: str) -> NotFound:
    # The same answer whether it does not exist, belongs to another tenant or could not be an
    # id at all: an id either names one of the tenant's conversations or nothing.
    return NotFound("Conversation not found")


def check_id(conversation_id: str) -> str:
    """A conversation id from a path: 400 only when it cannot be a path segment at all (too
    long, or control characters); 404 when it is well formed but cannot name a conversation
    (not `conv_` + 26 characters), without a read."""
    if not 1 <= len(conversation_id) <= MAX_ID_CHARS or not conversation_id.isprintable():
        problem = f"Must be 1 to {MAX_ID_CHARS} printable characters"
        raise BadRequest("Invalid conversation id", details={"id": problem})
    if not is_conversation_id(conversation_id):
        raise not_found(conversation_id)
    return conversation_id


def _write_tag(request_key: str) -> str:
    """What marks every write attempt of one keyed request (see `ConversationService.append`)."""
    return hashlib.sha256(request_key.encode()).hexdigest()[:32] + "."


def write_token(request_key: str | None) -> str:
    """The token of one append attempt: fresh each time (a fence names one attempt), and for a
    keyed request prefixed with its tag, so a resend recognises the attempt that committed."""
    nonce = secrets.token_hex(8)
    return nonce if request_key is None else _write_tag(request_key) + nonce


def _committed_earlier(writes: frozenset[str], token: str, request_key: str | None) -> bool:
    if token in writes:
        return True
    if request_key is None:
        return False
    tag = _write_tag(request_key)
    return any(write.startswith(tag) for write in writes)


@dataclass(frozen=True)
class CreateKey:
    """A create's idempotency key, claimed in the same transaction as the conversation, so a
    repeat (whatever became of the first answer) returns the first conversation for 24 h.
    `header`: sent as `Idempotency-Key` (reuse with another body is 422, the draft's code)
    rather than in the body's `idempotencyKey` (409, as that field has always answered)."""

    key: str
    body_hash: str
    header: bool = False


@dataclass(frozen=True)
class _Attempt:
    """One write of an append: the version it expected, the index of its first message, and
    the conversation it makes when it commits."""

    expected_version: int
    first_index: int
    conversation: Conversation


@dataclass(frozen=True)
class Created:
    conversation: Conversation
    created: bool  # False: an idempotent repeat, the first create's conversation


class ConversationService:
    def __init__(
        self,
        store: ConversationStore,
        idempotency_ttl_seconds: int,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._ttl = idempotency_ttl_seconds
        self._clock = clock

    # --- create ---------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        new: NewConversation,
        deadline: Deadline,
        *,
        key: CreateKey | None = None,
    ) -> Created:
        """Store a new conversation. With a key: a repeat within the TTL returns the first
        conversation if its body hash matches, else 409 (422 for a header key); concurrent
        repeats make one."""
        check_has_messages(new.messages, new.status, "messages", "conversation")
        stored = [m.stored() for m in new.messages]
        sizes, encoded = limits.measure(stored)
        limits.check_totals(sizes)
        limits.check_fields(new.metadata, new.attributes())
        if new.agent_name is not None and new.agent_id is None:
            # The SDK names agents: link to the tenant's agent of that name, so it is analyzed.
            agent_id = self._store.agent_id(
                tenant, new.agent_name, new_agent_id(self._clock()), deadline
            )
            new = replace(new, agent_id=agent_id)
        for _ in range(_MAX_CREATE_ATTEMPTS):
            now = self._clock()
            if key is not None:
                earlier = self._earlier_create(tenant, key, now, deadline)
                if earlier is not None:
                    return Created(earlier, created=False)
            stamp = format_timestamp(now)
            conversation = Conversation(
                id=new_conversation_id(now),
                status=new.status,
                created_status=new.status,
                created_at=stamp,
                updated_at=stamp,
                prompt_id=new.prompt_id,
                attributes=new.attributes(),
                metadata=dict(new.metadata),
                message_count=sizes.messages,
                content_bytes=sizes.content_bytes,
                stored_bytes=sizes.stored_bytes,
                version=1,
                has_insights=False,
                messages=stored,
            )
            lines = [render_line(m) for m in stored]
            conversation.content = "\n".join(lines)
            claim = None
            if key is not None:
                expires = int((now + timedelta(seconds=self._ttl)).timestamp())
                claim = IdempotencyClaim(key.key, key.body_hash, expires)
            outcome = self._store.create(
                tenant,
                conversation,
                chunk_messages(0, encoded, lines),
                claim,
                int(now.timestamp()),
                deadline,
            )
            if outcome != "claimed":  # None, or "exists": an earlier attempt of ours committed
                return Created(conversation, created=True)
            # Another create took the key between our check and our write: answer as it did.
        raise Contended()

    def _earlier_create(
        self, tenant: str, key: CreateKey, now: datetime, deadline: Deadline
    ) -> Conversation | None:
        claimed = self._store.claimed_key(tenant, key.key, deadline)
        if claimed is None or claimed.expires_at <= int(now.timestamp()):
            return None
        if claimed.body_hash != key.body_hash:
            if key.header:
                raise UnprocessableContent(
                    "Idempotency-Key was already used with a different request body"
                )
            raise Conflict(
                "This idempotencyKey was used for a different conversation in the last "
                f"{self._ttl // 3600} hours; use a new key for a new conversation",
                details={"idempotencyKey": "Already used with a different body"},
            )
        earlier = self._store.load(tenant, claimed.conversation_id, deadline)
        if earlier is None:  # the claim and its conversation are written together
            raise Contended()
        return earlier

    # --- append ---------------------------------------------------------------------------

    def append(
        self,
        tenant: str,
        conversation_id: str,
        messages: list[Message],
        deadline: Deadline,
        *,
        status: str | None = None,
        metadata: dict[str, Any] | None = None,
        attributes: dict[str, Any] | None = None,
        request_key: str | None = None,
    ) -> Conversation:
        """Add messages (all or none) and optionally change status / merge metadata / replace
        attributes (`sessionId`, … : the runs family's append sets them); returns the whole
        conversation as committed. Never rewrites what is already stored.

        `request_key` names the request across resends (its Idempotency-Key's scope): a resend
        whose earlier attempt committed finds that write among the stored ones and answers the
        conversation instead of appending again, even when the key's remembered answer is gone
        (its save failed, or the claim was released after a 503 while that write was open)."""
        check_id(conversation_id)
        stored = [m.stored() for m in messages]
        lines = [render_line(m) for m in stored]
        token = write_token(request_key)
        latest: list[_Attempt] = []  # our latest write, once one was tried
        try:
            return self._append(
                tenant,
                conversation_id,
                token,
                stored,
                lines,
                deadline,
                status,
                metadata,
                attributes,
                request_key,
                latest,
            )
        except StorageUnavailable:
            # A 503 tells the client to send the messages again: true only if our latest write
            # is not stored and never will be (the earlier ones were refused: the version moved).
            if not latest or not self._settle(tenant, conversation_id, token, latest[0]):
                raise
            return latest[0].conversation

    def _settle(self, tenant: str, conversation_id: str, token: str, attempt: _Attempt) -> bool:
        """Whether the write marked `token` committed (its answer lost, then time ran out). When
        it did not, it never will: it is fenced first. Decided by reads (the fence's own answer
        may be lost too); only a storage unreachable for the whole settling time leaves it open:
        then False, and the client gets its 503."""
        deadline = Deadline(_SETTLE_SECONDS)
        where = (tenant, conversation_id, attempt.expected_version)
        try:
            outcome = self._store.write_outcome(*where, attempt.first_index, token, deadline)
            if outcome is None:
                try:
                    fenced = self._store.fence(*where, token, deadline)
                except StorageUnavailable:
                    fenced = False  # it may have applied with its answer lost: the read tells
                if fenced:
                    outcome = False
                else:
                    outcome = self._store.write_outcome(
                        *where, attempt.first_index, token, deadline
                    )
        except StorageUnavailable:
            outcome = None
        # Explains the answer after storage faults (and, when "open", a duplicate after a resend).
        settled = {True: "stored", False: "not stored, never will be", None: "open"}[outcome]
        log.warning("append settled after storage faults", extra={"outcome": settled})
        return outcome is True

    def _append(
        self,
        tenant: str,
        conversation_id: str,
        token: str,
        stored: list[dict[str, Any]],
        lines: list[str],
        deadline: Deadline,
        status: str | None,
        metadata: dict[str, Any] | None,
        attributes: dict[str, Any] | None,
        request_key: str | None,
        latest: list[_Attempt],
    ) -> Conversation:
        added, encoded = limits.measure(stored)
        for attempt in range(MAX_APPEND_ATTEMPTS):
            current = self._store.load(tenant, conversation_id, deadline)
            if current is None:
                raise not_found(conversation_id)
            if _committed_earlier(current.writes, token, request_key):
                return current  # a write of this request had committed (its answer was lost)
            if current.status in CLOSED_STATUSES:
                raise Conflict(
                    f"Conversation {conversation_id} is {current.status}: it takes no more "
                    "messages",
                    details={"status": f"Conversation is {current.status}"},
                )
            limits.check_totals(
                limits.Sizes(
                    current.message_count + added.messages,
                    current.content_bytes + added.content_bytes,
                    current.stored_bytes + added.stored_bytes,
                )
            )
            assert current.messages is not None
            assert current.content is not None
            updated = replace(
                current,
                status=status or current.status,
                updated_at=format_timestamp(self._clock()),
                metadata={**current.metadata, **(metadata or {})},
                attributes={**current.attributes, **(attributes or {})},
                message_count=current.message_count + added.messages,
                content_bytes=current.content_bytes + added.content_bytes,
                stored_bytes=current.stored_bytes + added.stored_bytes,
                version=current.version + 1,
                messages=current.messages + stored,
                content="\n".join(filter(None, [current.content, *lines])),
                writes=current.writes | {token},
            )
            limits.check_fields(updated.metadata, updated.attributes)
            chunks = chunk_messages(current.message_count, encoded, lines)
            latest[:] = [_Attempt(current.version, current.message_count, updated)]
            if self._store.append(tenant, updated, current.version, token, chunks, deadline):
                return updated
            # Another append committed first: wait a moment, re-read, and try again.
            delay = random.uniform(0, _RACE_BACKOFF_SECONDS * (attempt + 1))  # noqa: S311
            if time.monotonic() + delay >= deadline.at:
                break  # out of time: the client retries
            time.sleep(delay)
        raise Contended()

    # --- reads ----------------------------------------------------------------------------

    def get(self, tenant: str, conversation_id: str, deadline: Deadline) -> Conversation:
        """The conversation with all its messages and `content`."""
        check_id(conversation_id)
        conversation = self._store.load(tenant, conversation_id, deadline)
        if conversation is None:
            raise not_found(conversation_id)
        return conversation

    def summary(self, tenant: str, conversation_id: str, deadline: Deadline) -> Conversation:
        """The conversation without its messages (status, attributes, insights)."""
        check_id(conversation_id)
        conversation = self._store.load_summary(tenant, conversation_id, deadline)
        if conversation is None:
            raise not_found(conversation_id)
        return conversation

    def insights(self, tenant: str, conversation_id: str, deadline: Deadline) -> dict[str, Any]:
        """The conversation's insights; 404 while they are pending (or never coming)."""
        conversation = self.summary(tenant, conversation_id, deadline)
        if conversation.insights is not None:
            return conversation.insights
        if conversation.insights_failure is not None:
            raise NotFound("Insights could not be produced for this conversation: analysis failed")
        if not is_analyzable(conversation.prompt_id, conversation.attributes):
            raise NotFound(
                "This conversation is never analyzed: it is not linked to a prompt or agent "
                "(promptId, agentId, agentName or systemPromptId)"
            )
        raise NotFound(
            "Insights are pending for this conversation: they are produced after it is "
            "completed, when it is linked to a prompt (promptId, agentId or systemPromptId)"
        )

    def list(
        self,
        tenant: str,
        filters: ListFilters,
        deadline: Deadline,
        *,
        limit: int,
        offset: int = 0,
        after: str | None = None,
    ) -> ConversationPage:
        """Newest first. `after`: continue after this conversation id (a page's cursor)."""
        found, more = self._store.list(
            tenant, filters, offset=offset, limit=limit, after=after, deadline=deadline
        )
        total = self._store.count(tenant, filters, deadline)
        return ConversationPage(found, total, found[-1].id if more and found else None)
