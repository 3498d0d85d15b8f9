"""Conversations in DynamoDB (ConversationsTable in template.yaml): `ConversationStore`, the
one object the service and the insights worker use, over one module per job:

  items.py           the item layout (META, MSG#…), conversations to and from items
  transactions.py    create and append, each one transaction (version-checked appends)
  fencing.py         settling an append whose answer was lost: fence it, or find it stored
  claims.py          idempotency keys of creates, claimed in the create's transaction
  agents.py          the agent registry (a stable id per `agentName`)
  insight_writes.py  the insights worker's once-only writes
  listing.py         listing and counting a tenant's conversations (the `by_tenant` index)
  reads.py           reading one conversation (all items, or META alone)
"""

from __future__ import annotations

from typing import Any

from shared.conversations.models import Conversation, ConversationSummary, ListFilters
from shared.conversations.store import (
    agents,
    claims,
    fencing,
    insight_writes,
    listing,
    reads,
    transactions,
)
from shared.conversations.store.claims import ClaimedKey, IdempotencyClaim
from shared.conversations.store.items import Chunk
from shared.dynamo import Deadline, DynamoDBClient


class ConversationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # --- writes ---------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        conversation: Conversation,
        chunks: list[Chunk],
        claim: IdempotencyClaim | None,
        now_epoch: int,
        deadline: Deadline,
    ) -> str | None:
        """Store a new conversation (and claim its key). None when stored; "exists" when the
        conversation is already there (an earlier attempt of this call committed); "claimed"
        when the key is held by another, unexpired create."""
        actions: list[Any] = transactions.create_actions(self._table, tenant, conversation, chunks)
        if claim is not None:
            actions.append(
                claims.claim_action(self._table, tenant, conversation.id, claim, now_epoch)
            )
        failed = transactions.transact(self._client, actions, deadline)
        if failed is None:
            return None
        if failed[0] == "ConditionalCheckFailed":
            return "exists"
        return "claimed"

    def append(
        self,
        tenant: str,
        conversation: Conversation,
        expected_version: int,
        token: str,
        chunks: list[Chunk],
        deadline: Deadline,
    ) -> bool:
        """Apply an append if the conversation is still at `expected_version`; False if another
        writer got there first. `token` marks the write, so a retry can tell it committed."""
        actions = transactions.append_actions(
            self._table, tenant, conversation, expected_version, token, chunks
        )
        return transactions.transact(self._client, actions, deadline) is None

    def fence(
        self,
        tenant: str,
        conversation_id: str,
        expected_version: int,
        token: str,
        deadline: Deadline,
    ) -> bool:
        """See fencing.fence."""
        return fencing.fence(
            self._client, self._table, tenant, conversation_id, expected_version, token, deadline
        )

    def write_outcome(
        self,
        tenant: str,
        conversation_id: str,
        expected_version: int,
        first_index: int,
        token: str,
        deadline: Deadline,
    ) -> bool | None:
        """See fencing.write_outcome."""
        return fencing.write_outcome(
            self._client,
            self._table,
            tenant,
            conversation_id,
            expected_version,
            first_index,
            token,
            deadline,
        )

    def save_insights(
        self, tenant: str, conversation_id: str, insights: dict[str, Any], deadline: Deadline
    ) -> bool:
        """See insight_writes.save_insights."""
        return insight_writes.save_insights(
            self._client, self._table, tenant, conversation_id, insights, deadline
        )

    def save_insights_failure(
        self, tenant: str, conversation_id: str, reason: str, deadline: Deadline
    ) -> bool:
        """See insight_writes.save_insights_failure."""
        return insight_writes.save_insights_failure(
            self._client, self._table, tenant, conversation_id, reason, deadline
        )

    def agent_id(self, tenant: str, name: str, new_id: str, deadline: Deadline) -> str:
        """See agents.agent_id."""
        return agents.agent_id(self._client, self._table, tenant, name, new_id, deadline)

    # --- reads ----------------------------------------------------------------------------

    def load(self, tenant: str, conversation_id: str, deadline: Deadline) -> Conversation | None:
        """See reads.load."""
        return reads.load(self._client, self._table, tenant, conversation_id, deadline)

    def load_summary(
        self, tenant: str, conversation_id: str, deadline: Deadline
    ) -> Conversation | None:
        """See reads.load_summary."""
        return reads.load_summary(self._client, self._table, tenant, conversation_id, deadline)

    def claimed_key(self, tenant: str, key: str, deadline: Deadline) -> ClaimedKey | None:
        """See claims.claimed_key."""
        return claims.claimed_key(self._client, self._table, tenant, key, deadline)

    def list(
        self,
        tenant: str,
        filters: ListFilters,
        *,
        offset: int,
        limit: int,
        after: str | None,
        deadline: Deadline,
    ) -> tuple[list[ConversationSummary], bool]:
        """See listing.list_page."""
        return listing.list_page(
            self._client,
            self._table,
            tenant,
            filters,
            offset=offset,
            limit=limit,
            after=after,
            deadline=deadline,
        )

    def count(self, tenant: str, filters: ListFilters, deadline: Deadline) -> int:
        """See listing.count."""
        return listing.count(self._client, self._table, tenant, filters, deadline)
