"""shared/quotas.py against the usage table (moto): a tenant's counts stay off the request path
(one UpdateItem per flush interval, not one per request), several processes share one total,
a failed write is not charged, a new UTC day starts from zero, and an unreachable usage table
refuses no request on its own (only what the process itself counted)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import QuotaExceeded
from shared.quotas import UsageCounter, quota_for
from shared.settings import Quota, Settings, get_settings

QUOTA = {"eventsPerDay": 100, "bytesPerDay": 10_000}


class CountingClient:
    """The moto client, counting the usage updates."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.updates = 0
        self.failing = False

    def update_item(self, **kwargs: Any) -> Any:
        self.updates += 1
        if self.failing:
            raise self._client.exceptions.InternalServerError(
                {"Error": {"Code": "InternalServerError", "Message": "down"}}, "UpdateItem"
            )
        return self._client.update_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
        self.seconds = 0.0

    def wall(self) -> datetime:
        return self.now + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


def counter(client: Any, clock: Clock, flush_seconds: float = 10.0) -> UsageCounter:
    settings = get_settings().model_copy(
        update={
            "plan_quotas": {"free": Quota.model_validate(QUOTA)},
            "usage_flush_seconds": flush_seconds,
        }
    )
    return UsageCounter(client, settings, now=clock.wall, monotonic=clock.monotonic)


def charge(usage: UsageCounter, tenant: str, events: int = 1, size: int = 10) -> None:
    with usage.charge(tenant, "free", events, size):
        pass


def stored(dynamodb: Any, tenant: str, day: str = "2026-12-07") -> tuple[int, int]:
    item = dynamodb.get_item(
        TableName=get_settings().usage_table, Key={"pk": {"S": f"{tenant}#{day}"}}
    )["Item"]
    return int(item["events"]["N"]), int(item["bytes"]["N"])


@pytest.fixture
def tenant() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


def test_one_update_per_interval_not_per_request(dynamodb: Any, tenant: str) -> None:
    client, clock = CountingClient(dynamodb), Clock()
    usage = counter(client, clock)
    for _ in range(50):
        charge(usage, tenant)
        clock.seconds += 0.1  # 50 requests in 5 s
    assert client.updates == 1  # the first request read the day's total; nothing since
    clock.seconds += 10
    charge(usage, tenant)
    assert client.updates == 2
    assert stored(dynamodb, tenant) == (51, 510)


def test_processes_share_one_total(dynamodb: Any, tenant: str) -> None:
    clock = Clock()
    first, second = counter(dynamodb, clock), counter(dynamodb, clock)
    for _ in range(60):
        charge(first, tenant)
    clock.seconds += 10
    charge(first, tenant)  # writes its 61
    # A process that starts later learns the total on its first request.
    for _ in range(39):
        charge(second, tenant)
    with pytest.raises(QuotaExceeded) as refused:
        charge(second, tenant)
    assert refused.value.status == 429
    assert refused.value.quota == QUOTA
    assert refused.value.retry_after == 12 * 3600 - 10  # until 00:00 UTC
    assert "100 events" in refused.value.message


def test_bytes_are_a_quota_of_their_own(dynamodb: Any, tenant: str) -> None:
    usage = counter(dynamodb, Clock())
    charge(usage, tenant, events=1, size=9_000)
    with pytest.raises(QuotaExceeded, match="10,000 bytes"):
        charge(usage, tenant, events=1, size=1_001)
    charge(usage, tenant, events=1, size=1_000)  # exactly the quota


def test_a_failed_write_is_not_charged(dynamodb: Any, tenant: str) -> None:
    usage = counter(dynamodb, Clock(), flush_seconds=0)
    with pytest.raises(RuntimeError), usage.charge(tenant, "free", 100, 10):
        raise RuntimeError("storage failed")
    charge(usage, tenant, events=100)  # the whole quota is still there
    assert stored(dynamodb, tenant) == (100, 10)


def test_a_new_day_starts_from_zero(dynamodb: Any, tenant: str) -> None:
    clock = Clock()
    usage = counter(dynamodb, clock)
    charge(usage, tenant, events=100)
    with pytest.raises(QuotaExceeded):
        charge(usage, tenant)
    clock.seconds += 12 * 3600  # 00:00 UTC
    charge(usage, tenant, events=100)
    assert stored(dynamodb, tenant) == (100, 10)  # yesterday's pending count was written to it
    clock.seconds += 10
    charge(usage, tenant, events=0, size=0)  # the next update writes the new day's count
    assert stored(dynamodb, tenant, "2026-12-08") == (100, 10)


def test_an_unreachable_usage_table_refuses_only_what_the_process_counted(
    dynamodb: Any, tenant: str
) -> None:
    client, clock = CountingClient(dynamodb), Clock()
    client.failing = True
    usage = counter(client, clock)
    charge(usage, tenant, events=30)  # accepted: the total could not be read
    tried = client.updates  # one update, retried within its one-second budget
    for _ in range(2):
        charge(usage, tenant, events=30)
    assert client.updates == tried  # a failing table is tried once per interval, not per request
    # What this process accepted itself still counts against the quota.
    with pytest.raises(QuotaExceeded):
        charge(usage, tenant, events=11)
    client.failing = False
    clock.seconds += 10
    charge(usage, tenant)
    assert stored(dynamodb, tenant) == (91, 40)  # the counts were kept and written later


def test_tenant_quotas_win_over_the_plan_and_keys_without_a_plan_get_default() -> None:
    own, free, default = (
        Quota(eventsPerDay=1, bytesPerDay=1),
        Quota(eventsPerDay=2, bytesPerDay=2),
        Quota(eventsPerDay=3, bytesPerDay=3),
    )
    settings = Settings(tenant_quotas={"acme": own}, plan_quotas={"free": free, "default": default})
    assert quota_for(settings, "acme", "free") == own
    assert quota_for(settings, "globex", "free") == free
    assert quota_for(settings, "globex", None) == default
    assert quota_for(Settings(), "globex", None) is None


def test_quotas_are_read_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARLEY_PLAN_QUOTAS", '{"pro": {"eventsPerDay": 7, "bytesPerDay": 8}}')
    monkeypatch.setenv("PARLEY_TENANT_QUOTAS", '{"acme": {"eventsPerDay": 1, "bytesPerDay": 2}}')
    settings = Settings.from_env()
    assert settings.plan_quotas["pro"] == Quota(eventsPerDay=7, bytesPerDay=8)
    assert settings.tenant_quotas["acme"].bytes_per_day == 2
