"""Lambda REQUEST authorizer: Bearer key → tenant. A bad key raises "Unauthorized" (→ 401)."""

from typing import Any

from shared.authorizer import authorize


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event)
