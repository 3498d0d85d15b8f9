"""Listing a tenant's conversations: the sparse GSI `by_tenant` (gpk tenant, gsk id) holds
one entry per META, so a descending read of it is newest first (ids sort by creation time)."""

from __future__ import annotations

from typing import Any

from shared.conversations.models import ConversationSummary, ListFilters
from shared.conversations.store.items import (
    LISTED_META_ATTRIBUTES,
    META,
    s,
    summary_of,
)
from shared.dynamo import Deadline, DynamoDBClient, Item, batch_get, call_with_retry

TENANT_INDEX = "by_tenant"
_LIST_ATTRIBUTES = "pk, sk, gpk, gsk, prompt_id, #status, has_insights, created_at"


def list_page(
    client: DynamoDBClient,
    table: str,
    tenant: str,
    filters: ListFilters,
    *,
    offset: int,
    limit: int,
    after: str | None,
    deadline: Deadline,
) -> tuple[list[ConversationSummary], bool]:
    """Newest first: skip `offset` matches (after the id `after`, if given), then up to
    `limit`; and whether more match."""
    wanted = offset + limit + 1  # one more tells whether there is a next page
    query = _tenant_query(table, tenant, filters, after)
    query["ProjectionExpression"] = _LIST_ATTRIBUTES
    query.setdefault("ExpressionAttributeNames", {})["#status"] = "status"
    found: list[Item] = []
    while len(found) < wanted:
        query["Limit"] = max(wanted - len(found), 25)
        page = call_with_retry(lambda: client.query(**query), deadline)
        found += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    selected = found[offset : offset + limit]
    # The index projects only what filters need; a row's title and counts are on META: one
    # BatchGetItem for the page (at most 100, the list's largest limit).
    keys = [(item["pk"]["S"], META) for item in selected]
    metas = {
        m["pk"]["S"]: m for m in batch_get(client, table, keys, LISTED_META_ATTRIBUTES, deadline)
    }
    summaries = [summary_of(item, metas.get(item["pk"]["S"])) for item in selected]
    return summaries, len(found) > offset + limit


def count(
    client: DynamoDBClient, table: str, tenant: str, filters: ListFilters, deadline: Deadline
) -> int:
    """Exact number of the tenant's conversations matching `filters` (reads its index)."""
    query = _tenant_query(table, tenant, filters, None)
    query["Select"] = "COUNT"
    total = 0
    while True:
        page = call_with_retry(lambda: client.query(**query), deadline)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _tenant_query(
    table: str, tenant: str, filters: ListFilters, after: str | None
) -> dict[str, Any]:
    condition = "gpk = :tenant"
    values: dict[str, Any] = {":tenant": s(tenant)}
    names: dict[str, str] = {}
    if after is not None:
        condition += " AND gsk < :after"
        values[":after"] = s(after)
    clauses = []
    if filters.prompt_id is not None:
        clauses.append("prompt_id = :prompt")
        values[":prompt"] = s(filters.prompt_id)
    if filters.status is not None:
        clauses.append("#status = :status")
        values[":status"] = s(filters.status)
        names["#status"] = "status"
    if filters.has_insights is not None:
        clauses.append("has_insights = :insights")
        values[":insights"] = {"BOOL": filters.has_insights}
    query: dict[str, Any] = {
        "TableName": table,
        "IndexName": TENANT_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": False,  # ids sort by creation time: newest first
    }
    if clauses:
        query["FilterExpression"] = " AND ".join(clauses)
    if names:
        query["ExpressionAttributeNames"] = names
    return query
