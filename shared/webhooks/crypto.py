"""Webhook signing secrets at rest: envelope encryption (docs/security.md "Webhook secrets").

Each secret is encrypted with AES-256-GCM under a data key of its own, and only the data key,
wrapped by a key-encryption key, is stored beside it. On AWS that key is a KMS key: KMS makes
and wraps the data key (GenerateDataKey) and unwraps it (Decrypt), with the tenant and webhook
id as encryption context, so a sealed secret copied onto another row does not open. Locally
(make dev, tests) a 256-bit key in a file (settings.webhook_key_file, created mode 0600 on
first use) wraps data keys the same way with AES-GCM.

Unwrapped data keys are kept per process: the delivery function asks KMS once per webhook per
cold start, not once per delivery.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12
_KEY_BYTES = 32


class KeyWrapper(Protocol):
    """Makes data keys and unwraps them: KMS on AWS, a local key file elsewhere."""

    name: str

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        """(plaintext data key, the same key wrapped)."""
        ...

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes: ...


class KmsWrapper:
    name = "kms"

    def __init__(self, client: Any, key_id: str) -> None:  # a boto3 KMS client
        self._client = client
        self._key_id = key_id

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        made = self._client.generate_data_key(
            KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=context
        )
        return bytes(made["Plaintext"]), bytes(made["CiphertextBlob"])

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        # The key id is in the blob; naming it refuses a blob wrapped by any other key.
        opened = self._client.decrypt(
            CiphertextBlob=wrapped, KeyId=self._key_id, EncryptionContext=context
        )
        return bytes(opened["Plaintext"])


class FileWrapper:
    """The local stand-in for KMS: a key in a file wraps each data key with AES-GCM."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._key: bytes | None = None

    def _master(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = _read_or_create_key(self._path)
            return self._key

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        data_key = secrets.token_bytes(_KEY_BYTES)
        return data_key, _encrypt(self._master(), data_key, context)

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        return _decrypt(self._master(), wrapped, context)


def _read_or_create_key(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(_KEY_BYTES)
        try:  # exclusive create: two processes starting at once keep the first one's key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    if len(key) != _KEY_BYTES:
        raise ValueError(f"{path}: a webhook key file holds exactly {_KEY_BYTES} bytes")
    return key


def _aad(context: dict[str, str]) -> bytes:
    return json.dumps(context, sort_keys=True, separators=(",", ":")).encode()


def _cipher(key: bytes) -> AESGCM:
    # Imported on first use: the webhook functions that never seal or open a secret (list,
    # delete, test, fan-out) do not load cryptography on their cold start.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _encrypt(key: bytes, plaintext: bytes, context: dict[str, str]) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + _cipher(key).encrypt(nonce, plaintext, _aad(context))


def _decrypt(key: bytes, sealed: bytes, context: dict[str, str]) -> bytes:
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    return _cipher(key).decrypt(nonce, ciphertext, _aad(context))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class SecretBox:
    """Seals a webhook's secret for its row and opens it again: `v1.<wrapper>.<wrapped data
    key>.<nonce + ciphertext>` (base64 parts)."""

    def __init__(self, wrapper: KeyWrapper) -> None:
        self._wrapper = wrapper
        self._data_key = lru_cache(maxsize=4096)(self._unwrap)

    def seal(self, secret: str, tenant: str, webhook_id: str) -> str:
        context = _context(tenant, webhook_id)
        data_key, wrapped = self._wrapper.new_data_key(context)
        sealed = _encrypt(data_key, secret.encode(), context)
        return ".".join((_VERSION, self._wrapper.name, _b64(wrapped), _b64(sealed)))

    def open(self, sealed: str, tenant: str, webhook_id: str) -> str:
        version, wrapper, wrapped, ciphertext = sealed.split(".")
        if version != _VERSION or wrapper != self._wrapper.name:
            raise ValueError(
                f"sealed by {version}/{wrapper}; this process opens {_VERSION}/{self._wrapper.name}"
            )
        data_key = self._data_key(base64.b64decode(wrapped), tenant, webhook_id)
        context = _context(tenant, webhook_id)
        return _decrypt(data_key, base64.b64decode(ciphertext), context).decode()

    def _unwrap(self, wrapped: bytes, tenant: str, webhook_id: str) -> bytes:
        return self._wrapper.unwrap(wrapped, _context(tenant, webhook_id))


def _context(tenant: str, webhook_id: str) -> dict[str, str]:
    return {"tenant": tenant, "webhook": webhook_id}
