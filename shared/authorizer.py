"""The API Gateway REQUEST authorizer's logic.

API Gateway caches the answer per Authorization header across routes, so the policy allows the
whole stage (`…/<stage>/*`), never just the route that was called.
"""

from __future__ import annotations

from typing import Any

from shared import logs, services
from shared.dynamo import Deadline
from shared.errors import Unauthorized
from shared.settings import get_settings

log = logs.get_logger("authorizer")
logs.configure(get_settings().log_level)  # JSON logs, like the Starlette functions
_LOOKUP_SECONDS = 3.0


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    # Every log line of the call carries the gateway's request id (and nothing of the last one:
    # a warm Lambda reuses this thread's context).
    logs.request_id_var.set((event.get("requestContext") or {}).get("requestId"))
    logs.tenant_id_var.set(None)
    headers = event.get("headers") or {}
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    try:
        key = services.key_store().tenant_for(authorization, Deadline(_LOOKUP_SECONDS))
    except Unauthorized:
        log.info("rejected API key")
        # The exact message "Unauthorized" is what makes API Gateway answer 401 (not 403/500).
        raise Exception("Unauthorized") from None
    logs.tenant_id_var.set(key.tenant_id)
    context = {"keyId": key.key_id}
    if key.plan is not None:  # the functions charge the plan's daily quota (shared/quotas.py)
        context["plan"] = key.plan
    policy = allow_policy(key.tenant_id, event["methodArn"], context)
    if key.usage_key is not None:
        # API Gateway (ApiKeySourceType AUTHORIZER) meters and throttles the call against the
        # usage plan this API Gateway key is bound to.
        policy["usageIdentifierKey"] = key.usage_key
    return policy


def allow_policy(tenant_id: str, method_arn: str, context: dict[str, Any]) -> dict[str, Any]:
    """An Allow for the whole stage, with the tenant (and `context`) for the functions."""
    return {
        "principalId": tenant_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": stage_wildcard(method_arn),
                }
            ],
        },
        "context": {"tenantId": tenant_id, **context},
    }


def stage_wildcard(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:api/stage/METHOD/path → arn:…:api/stage/*"""
    api, stage = method_arn.split("/")[:2]
    return f"{api}/{stage}/*"
