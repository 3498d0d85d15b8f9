"""Calling the conversations functions' real handlers, as API Gateway would."""

from __future__ import annotations

import uuid
from typing import Any

from functions.conversations_append.app import handler as append_handler
from functions.conversations_create.app import handler as create_handler
from functions.conversations_get.app import handler as get_handler
from functions.conversations_insights.app import handler as insights_handler
from functions.conversations_list.app import handler as list_handler
from functions.runs_append.app import handler as runs_append_handler
from functions.runs_create.app import handler as runs_create_handler
from functions.runs_insights.app import handler as runs_insights_handler
from tests.support import Answer, api_event, id_event, invoke

BASE = "/api/v1/conversations"
RUNS = "/api/v1/runs"


def fresh_tenant() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def create(body: Any, tenant: str = "acme", **kwargs: Any) -> Answer:
    return invoke(create_handler, api_event("POST", BASE, body=body, tenant=tenant, **kwargs))


def append(conversation_id: str, body: Any, tenant: str = "acme", **kwargs: Any) -> Answer:
    event = id_event(
        "POST", BASE + "/{id}/messages", conversation_id, body=body, tenant=tenant, **kwargs
    )
    return invoke(append_handler, event)


def get(conversation_id: str, tenant: str = "acme", query: dict[str, str] | None = None) -> Answer:
    event = id_event("GET", BASE + "/{id}", conversation_id, tenant=tenant, query=query)
    return invoke(get_handler, event)


def insights(conversation_id: str, tenant: str = "acme") -> Answer:
    event = id_event("GET", BASE + "/{id}/insights", conversation_id, tenant=tenant)
    return invoke(insights_handler, event)


def list_(tenant: str = "acme", query: dict[str, str] | None = None) -> Answer:
    return invoke(list_handler, api_event("GET", BASE, tenant=tenant, query=query))


def run_create(body: Any, tenant: str = "acme", **kwargs: Any) -> Answer:
    return invoke(runs_create_handler, api_event("POST", RUNS, body=body, tenant=tenant, **kwargs))


def run_append(run_id: str, body: Any, tenant: str = "acme", **kwargs: Any) -> Answer:
    event = id_event("POST", RUNS + "/{id}/messages", run_id, body=body, tenant=tenant, **kwargs)
    return invoke(runs_append_handler, event)


def run_insights(run_id: str, tenant: str = "acme") -> Answer:
    event = id_event("GET", RUNS + "/{id}/insights", run_id, tenant=tenant)
    return invoke(runs_insights_handler, event)


def created_id(body: Any, tenant: str = "acme") -> str:
    answer = create(body, tenant)
    assert answer.status == 200, answer.body
    conversation_id: str = answer.body["id"]
    return conversation_id


def open_live(tenant: str = "acme", **fields: Any) -> str:
    return created_id({"promptId": "prompt_123", "status": "active", **fields}, tenant)


def error(answer: Answer, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert set(answer.body) == {"error"}, answer.body
    assert answer.body["error"]["code"] == code, answer.body
    body: dict[str, Any] = answer.body["error"]
    return body
