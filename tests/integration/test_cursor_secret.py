"""The cursor-signing secret from Secrets Manager (shared/cursors.py, docs/security.md): read
once, cursors signed with its current value, and after a rotation a cursor signed with the
previous value still opens while new ones use the new value."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from shared import cursors
from shared.settings import get_settings

SCOPE = ("records", "acme", "conv-1")


@pytest.fixture
def secret_arn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        name = f"parley-cursor-{uuid.uuid4().hex[:8]}"
        arn = client.create_secret(Name=name, SecretString="first-value")["ARN"]
        monkeypatch.delenv("PARLEY_CURSOR_SECRET", raising=False)
        monkeypatch.setenv("PARLEY_CURSOR_SECRET_ARN", arn)
        get_settings.cache_clear()
        cursors._secrets.cache_clear()
        yield arn
    get_settings.cache_clear()
    cursors._secrets.cache_clear()


def test_cursors_are_signed_with_the_secret_in_secrets_manager(secret_arn: str) -> None:
    cursor = cursors.seal(["a", "b"], SCOPE)
    assert cursors.unseal(cursor, SCOPE) == ["a", "b"]
    assert cursors._secrets() == (b"first-value",)  # never rotated: no previous value
    # The same value signs in another process (a cold start that reads it again).
    cursors._secrets.cache_clear()
    assert cursors.unseal(cursor, SCOPE) == ["a", "b"]


def test_a_cursor_of_the_previous_value_still_opens_after_a_rotation(secret_arn: str) -> None:
    before = cursors.seal(["page-2"], SCOPE)
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=secret_arn, SecretString="second-value"
    )
    cursors._secrets.cache_clear()  # a function started after the rotation
    assert cursors._secrets() == (b"second-value", b"first-value")
    assert cursors.unseal(before, SCOPE) == ["page-2"]
    after = cursors.seal(["page-2"], SCOPE)
    assert after != before  # signed with the new value
    assert cursors.unseal(after, SCOPE) == ["page-2"]
    assert cursors.unseal(after, ("records", "globex", "conv-1")) is None  # still bound
