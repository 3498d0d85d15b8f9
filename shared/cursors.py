"""Page cursors a client can only hand back unchanged: HMAC-signed and bound to the listing
they continue (tenant, conversation, filter), so one cannot be forged, edited or used on
another listing, and they carry no tenant id or partition key — only the position (the last
record's id, which the page already showed, and its order key).

The secret is PARLEY_CURSOR_SECRET (on AWS a generated Secrets Manager value, see
template.yaml); without it (make dev, tests) each process makes its own, so cursors do not
outlive the process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from functools import lru_cache

from shared.settings import get_settings

_TAG_BYTES = 16


@lru_cache(maxsize=1)
def _secret() -> bytes:
    configured = get_settings().cursor_secret
    if configured is not None:
        return configured.get_secret_value().encode()
    return secrets.token_bytes(32)


def _tag(scope: tuple[str, ...], payload: bytes) -> bytes:
    message = json.dumps(scope).encode() + b"\n" + payload
    return hmac.new(_secret(), message, hashlib.sha256).digest()[:_TAG_BYTES]


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
    if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, _tag(scope, payload)):
        return None
    values = json.loads(payload)  # ours: signed, so well-formed
    return values if isinstance(values, list) else None
