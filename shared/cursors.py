"""Page cursors, the one scheme of every list (records, ingest conversations, conversations
API): a client can only hand one back unchanged. HMAC-signed and bound to the listing they
continue (list, tenant, and its filters), so one cannot be forged, edited or used on another
tenant's or another list's pages (a 400 naming `cursor`), and they carry no tenant id or
partition key — only the position (what the page already showed, and its order key).

Cursors from before this scheme (plain base64 of an id or of DynamoDB's key) fail the check
like any other foreign cursor: a 400 asking for the list to be read again from its start.

The secret: on AWS the Secrets Manager secret PARLEY_CURSOR_SECRET_ARN names (template.yaml
CursorSecret), read on first use and kept for the process; cursors are signed with its current
value and accepted under its current or previous one, so a rotation does not break the pages
being read (docs/security.md "Rotating the cursor secret"). Locally PARLEY_CURSOR_SECRET, or
else each process makes its own, so cursors do not outlive the process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from shared.query import invalid
from shared.settings import get_settings

_TAG_BYTES = 16


@lru_cache(maxsize=1)
def _secrets() -> tuple[bytes, ...]:
    """The signing secret first, then the one that also verifies (the previous, during a
    rotation)."""
    settings = get_settings()
    if settings.cursor_secret is not None:
        return (settings.cursor_secret.get_secret_value().encode(),)
    if settings.cursor_secret_arn is not None:
        return _from_secrets_manager(settings.cursor_secret_arn, settings.aws_region)
    return (secrets.token_bytes(32),)


def _from_secrets_manager(arn: str, region: str) -> tuple[bytes, ...]:
    import boto3  # only the functions that page load it, on their first cursor

    client = boto3.client("secretsmanager", region_name=region)
    current = client.get_secret_value(SecretId=arn)["SecretString"].encode()
    try:
        previous = client.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
    except client.exceptions.ResourceNotFoundException:  # never rotated
        return (current,)
    return (current, previous["SecretString"].encode())


def _tag(scope: tuple[str, ...], payload: bytes, secret: bytes | None = None) -> bytes:
    message = json.dumps(scope).encode() + b"\n" + payload
    key = _secrets()[0] if secret is None else secret
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def seal(values: list[str], scope: tuple[str, ...]) -> str:
    payload = json.dumps(values, separators=(",", ":")).encode()
    raw = _tag(scope, payload) + payload
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unseal(cursor: str, scope: tuple[str, ...]) -> list[str] | None:
    """The values sealed in `cursor` for this same scope, or None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, binascii.Error):
        return None
    tag, payload = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    if len(tag) != _TAG_BYTES or not any(
        hmac.compare_digest(tag, _tag(scope, payload, secret)) for secret in _secrets()
    ):
        return None
    values = json.loads(payload)  # ours: signed, so well-formed
    return values if isinstance(values, list) else None


def open_cursor(cursor: str, scope: tuple[str, ...], size: int) -> list[str]:
    """The `size` strings sealed in `cursor` for this scope, or the 400 naming `cursor`."""
    values = unseal(cursor, scope)
    if values is None or len(values) != size or not all(isinstance(v, str) for v in values):
        raise invalid(
            "cursor", "must be the nextCursor of the previous page of this same list, unchanged"
        )
    return values


def seal_key(key: Mapping[str, Any], names: Sequence[str], scope: tuple[str, ...]) -> str:
    """A cursor holding the string attributes `names` of a DynamoDB key (LastEvaluatedKey):
    only the position, never the partition key the caller rebuilds from the request."""
    return seal([key[name]["S"] for name in names], scope)


def open_key(cursor: str, names: Sequence[str], scope: tuple[str, ...]) -> dict[str, Any]:
    """The attributes `names` of the key sealed by `seal_key` for this scope, in DynamoDB's
    form, or the 400 naming `cursor`."""
    values = open_cursor(cursor, scope, len(names))
    return {name: {"S": value} for name, value in zip(names, values, strict=True)}
