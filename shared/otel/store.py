"""Which conversation a trace belongs to, remembered across requests.

Spans that name no conversation (Moda's `vapi.turn.N`, most `execute_tool` spans) belong to the
conversation their trace's root names, and the root may have arrived in an earlier request. The
map is one small item per trace in the records table, outside every conversation partition:

  pk  "trace|<tenant>|<trace id hex>"   never a record partition ("<tenant>#<conversation>"):
                                        tenant ids hold no "|" and these keys hold no "#"
  sk  "trace"
  c   conversation id

The item has no `ok`, so it never appears in the records index a conversation is read from.
"""

from __future__ import annotations

from shared.dynamo import Deadline, DynamoDBClient, ParallelBatchWriter, batch_get

_SORT_KEY = "trace"


def _key(tenant_id: str, trace_id: str) -> str:
    return f"trace|{tenant_id}|{trace_id}"


class TraceMap:
    def __init__(self, client: DynamoDBClient, table: str, writer: ParallelBatchWriter) -> None:
        self._client = client
        self._table = table
        self._writer = writer

    def lookup(self, tenant_id: str, trace_ids: list[str], deadline: Deadline) -> dict[str, str]:
        """trace id → conversation, for the traces already mapped."""
        if not trace_ids:
            return {}
        keys = [(_key(tenant_id, trace_id), _SORT_KEY) for trace_id in trace_ids]
        by_key = {_key(tenant_id, trace_id): trace_id for trace_id in trace_ids}
        items = batch_get(self._client, self._table, keys, ("pk", "c"), deadline)
        return {by_key[item["pk"]["S"]]: item["c"]["S"] for item in items}

    def remember(self, tenant_id: str, links: dict[str, str], deadline: Deadline) -> None:
        items = [
            {"pk": {"S": _key(tenant_id, trace_id)}, "sk": {"S": _SORT_KEY}, "c": {"S": conv}}
            for trace_id, conv in links.items()
        ]
        self._writer.put_items(self._table, items, deadline)
