"""Webhook signing secrets at rest (shared/webhooks/crypto.py, docs/security.md): sealed under
KMS (moto's, in process) or the local key file, bound to their row, never read by lists, and
rows from before sealing still readable and sealed at their first rotation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.exceptions import InvalidTag
from standardwebhooks import Webhook as Verifier

from shared.dynamo import Deadline
from shared.settings import get_settings
from shared.webhooks.crypto import FileWrapper, KmsWrapper, SecretBox
from shared.webhooks.delivery import sign
from shared.webhooks.models import Delivery, Webhook, new_secret, new_webhook_id
from shared.webhooks.store import WebhookStore


class Unopenable:
    """A key wrapper that makes data keys but refuses to open any: what lists may use."""

    name = "file"

    def __init__(self, inner: FileWrapper) -> None:
        self._inner = inner

    def new_data_key(self, context: dict[str, str]) -> tuple[bytes, bytes]:
        return self._inner.new_data_key(context)

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        raise AssertionError("a secret was opened")


@pytest.fixture
def kms_box(dynamodb: Any) -> SecretBox:
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key(Description="test webhook secrets")["KeyMetadata"]["Arn"]
    return SecretBox(KmsWrapper(kms, key_id))


@pytest.fixture
def file_box(tmp_path: Path) -> SecretBox:
    return SecretBox(FileWrapper(tmp_path / "webhook.key"))


def webhook(secret: str | None = None) -> Webhook:
    return Webhook(
        id=new_webhook_id(datetime.now(UTC)),
        url="https://hooks.example.com/parley",
        events=["insights.ready"],
        description=None,
        created_at="2026-12-07T10:00:00.000Z",
        secret=secret or new_secret(),
    )


def raw_item(dynamodb: Any, tenant: str, webhook_id: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(
        TableName=get_settings().webhooks_table,
        Key={"pk": {"S": tenant}, "sk": {"S": webhook_id}},
    )["Item"]
    return item


@pytest.mark.parametrize("box_name", ["kms_box", "file_box"])
def test_secrets_are_stored_sealed_and_read_back(
    dynamodb: Any, box_name: str, request: pytest.FixtureRequest
) -> None:
    box: SecretBox = request.getfixturevalue(box_name)
    store = WebhookStore(dynamodb, get_settings().webhooks_table, box)
    tenant, hook = f"t-{uuid.uuid4().hex[:8]}", webhook()
    store.put(tenant, hook, Deadline(5))
    item = raw_item(dynamodb, tenant, hook.id)
    assert "secret" not in item
    assert hook.secret is not None
    assert hook.secret not in str(item)
    assert hook.secret[len("whsec_") :] not in str(item)
    read = store.get(tenant, hook.id, Deadline(5), with_secrets=True)
    assert read is not None
    assert read.secret == hook.secret


def test_a_sealed_secret_opens_only_for_its_own_row(kms_box: SecretBox) -> None:
    sealed = kms_box.seal("whsec_abc", "acme", "wh_1")
    assert kms_box.open(sealed, "acme", "wh_1") == "whsec_abc"
    with pytest.raises(Exception, match="InvalidCiphertext"):
        kms_box.open(sealed, "globex", "wh_1")  # KMS refuses the other encryption context


def test_the_local_key_file_is_made_once_private_and_binds_rows(tmp_path: Path) -> None:
    path = tmp_path / "webhook.key"
    sealed = SecretBox(FileWrapper(path)).seal("whsec_abc", "acme", "wh_1")
    assert path.stat().st_mode & 0o777 == 0o600
    again = SecretBox(FileWrapper(path))  # another process: the same key from the file
    assert again.open(sealed, "acme", "wh_1") == "whsec_abc"
    with pytest.raises(InvalidTag):
        again.open(sealed, "acme", "wh_2")


def test_lists_and_the_test_event_never_open_a_secret(dynamodb: Any, tmp_path: Path) -> None:
    table = get_settings().webhooks_table
    tenant, hook = f"t-{uuid.uuid4().hex[:8]}", webhook()
    WebhookStore(dynamodb, table, SecretBox(FileWrapper(tmp_path / "k"))).put(
        tenant, hook, Deadline(5)
    )
    blind = WebhookStore(dynamodb, table, SecretBox(Unopenable(FileWrapper(tmp_path / "k"))))
    (listed,) = blind.list(tenant, Deadline(5))
    assert listed.id == hook.id
    assert listed.secret is None
    got = blind.get(tenant, hook.id, Deadline(5))
    assert got is not None
    assert got.secret is None


def test_rows_from_before_sealing_are_read_and_sealed_at_rotation(
    dynamodb: Any, kms_box: SecretBox
) -> None:
    table = get_settings().webhooks_table
    store = WebhookStore(dynamodb, table, kms_box)
    tenant, old_secret, hook_id = f"t-{uuid.uuid4().hex[:8]}", new_secret(), "wh_legacy"
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": tenant},
            "sk": {"S": hook_id},
            "url": {"S": "https://hooks.example.com/parley"},
            "events": {"S": '["insights.ready"]'},
            "created_at": {"S": "2024-01-15T10:00:00.000Z"},
            "secret": {"S": old_secret},  # plain text, as rows were written before
        },
    )
    legacy = store.get(tenant, hook_id, Deadline(5), with_secrets=True)
    assert legacy is not None
    assert legacy.secret == old_secret

    new = new_secret()
    until = datetime.now(UTC) + timedelta(hours=24)
    assert store.rotate(tenant, hook_id, new, until.isoformat(), Deadline(5))
    item = raw_item(dynamodb, tenant, hook_id)
    assert "secret" not in item  # the plain text is gone
    assert old_secret not in str(item)
    rotated = store.get(tenant, hook_id, Deadline(5), with_secrets=True)
    assert rotated is not None
    assert (rotated.secret, rotated.previous_secret) == (new, old_secret)
    assert not store.rotate(
        f"other-{tenant}", hook_id, new_secret(), until.isoformat(), Deadline(5)
    )


def test_deliveries_are_signed_with_both_secrets_only_inside_the_window() -> None:
    old, new = new_secret(), new_secret()
    until = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    hook = Webhook(
        id="wh_1",
        url="https://hooks.example.com",
        events=["insights.ready"],
        description=None,
        created_at="2026-12-07T10:00:00.000Z",
        secret=new,
        previous_secret=old,
        previous_secret_until=until.isoformat(),
    )
    delivery = Delivery(
        tenant="acme",
        webhookId="wh_1",
        eventId="msg_1",
        type="insights.ready",
        timestamp="2026-12-07T10:00:00.000Z",
        data={},
    )
    for moment, verifying in (
        (until - timedelta(seconds=1), [old, new]),
        (until, [new]),
    ):
        secrets = hook.signing_secrets(moment)
        assert sorted(secrets) == sorted(verifying)
        body, headers = sign(delivery, secrets, datetime.now(UTC))
        for secret in verifying:
            assert Verifier(secret).verify(body, headers)["type"] == "insights.ready"
