"""Webhook rules without AWS: URL checks (SSRF), the retry schedule, signing, event ids."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook as Verifier

from shared.settings import Settings
from shared.webhooks import urls
from shared.webhooks.delivery import retry_delay, sign
from shared.webhooks.models import Delivery, event_id, is_webhook_id, new_secret, new_webhook_id

# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "100.127.255.254",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.251",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "::1",
        "::",
        "fd00:ec2::254",  # AWS metadata over IPv6
        "fe80::1",
        "ff02::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "2001:db8::1",  # documentation
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(urls.UnsafeUrl, match="not a public address"):
        urls.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    urls.check_address(ipaddress.ip_address(address))


def test_parse_keeps_the_path_query_and_port() -> None:
    target = urls.parse("https://Hooks.Example.com:8443/a/b?x=1&y=2", local_mode=False)
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "hooks.example.com",
        8443,
        "/a/b?x=1&y=2",
    )
    assert urls.parse("https://hooks.example.com", local_mode=False).path == "/"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3001/hook", "http://localhost/x", "https://localhost/", "http://[::1]:80/"],
)
def test_local_mode_allows_loopback_by_name(url: str) -> None:
    target = urls.parse(url, local_mode=True)
    assert urls.resolve(target, local_mode=True).is_loopback
    with pytest.raises(urls.UnsafeUrl):
        urls.check_url(url, local_mode=False)


def test_bad_ports_are_refused() -> None:
    with pytest.raises(urls.UnsafeUrl, match="Not a valid URL"):
        urls.parse("https://hooks.example.com:99999/", local_mode=False)
    # Port 0: nothing listens there, so every delivery would fail for the whole retry window.
    for url in ("https://hooks.example.com:0/", "https://hooks.example.com:00/x"):
        with pytest.raises(urls.UnsafeUrl, match="Port must be from 1 to 65535"):
            urls.parse(url, local_mode=False)
    with pytest.raises(urls.UnsafeUrl, match="Port must be"):
        urls.parse("http://127.0.0.1:0/", local_mode=True)
    assert urls.parse("https://hooks.example.com:1/", local_mode=False).port == 1
    assert urls.parse("https://hooks.example.com:65535/", local_mode=False).port == 65535


@pytest.mark.parametrize(
    "url",
    [
        "https://a..example.com/",
        "https://.example.com/",
        "https://example..com./",
        "https://" + "a" * 64 + ".example.com/",
        "https://" + ".".join(["a" * 60] * 5) + "/",  # 304 characters
    ],
)
def test_host_names_dns_cannot_hold_are_refused(url: str) -> None:
    with pytest.raises(urls.UnsafeUrl, match="not a valid host name"):
        urls.parse(url, local_mode=False)


def test_a_fully_qualified_name_and_the_longest_labels_pass() -> None:
    assert urls.parse("https://hooks.example.com./", local_mode=False).host == "hooks.example.com."
    longest = ".".join(["a" * 63] * 3) + ".com"
    assert urls.parse(f"https://{longest}/", local_mode=False).host == longest


# --- retry schedule ----------------------------------------------------------------------------

SETTINGS = Settings()


def nominal(attempt: int) -> int:
    return retry_delay(attempt, SETTINGS, rand=lambda low, high: 1.0)


def test_schedule_doubles_from_30_seconds_to_a_4_hour_cap() -> None:
    assert [nominal(n) for n in range(1, 13)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3840,
        7680,
        14400,
        14400,
        14400,
    ]
    assert nominal(1000) == 14400


def test_jitter_stays_within_a_quarter() -> None:
    for attempt in (1, 5, 20):
        low = retry_delay(attempt, SETTINGS, rand=lambda low, high: low)
        high = retry_delay(attempt, SETTINGS, rand=lambda low, high: high)
        assert low == round(nominal(attempt) * 0.75)
        assert high == round(nominal(attempt) * 1.25)
        assert high <= 12 * 3600  # SQS's longest visibility timeout


def attempts_within_the_window(jitter: float) -> int:
    """Attempts made in all (the last one at or after 24 hours, then parked), all delays at
    `jitter` x nominal."""
    elapsed, attempt = 0, 1
    while elapsed < SETTINGS.webhook_retry_window_seconds:
        elapsed += retry_delay(attempt, SETTINGS, rand=lambda low, high: jitter)
        attempt += 1
    return attempt


def test_the_window_holds_about_fifteen_attempts() -> None:
    # Documented in docs/webhooks.md: 14 to 17 attempts, depending on jitter.
    assert attempts_within_the_window(1.25) == 14
    assert attempts_within_the_window(1.0) == 15
    assert attempts_within_the_window(0.75) == 17


# --- signing and ids ---------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    import base64
    import hashlib
    import hmac

    secret = new_secret()
    item = Delivery(
        tenant="acme",
        webhookId="wh_01JHBVX3V8T2Q6R9M4K7N5P0SA",
        eventId="msg_1",
        type="conversation.created",
        timestamp="2024-01-15T10:30:00.000Z",
        data={"conversationId": "conv_1", "text": "héllo"},
    )
    moment = datetime(2024, 1, 15, 10, 30, 5, tzinfo=UTC)

    body, headers = sign(item, [secret], moment)

    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"msg_1.{int(moment.timestamp())}.{body}".encode(), hashlib.sha256)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected.digest()).decode()
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1705314605"
    assert body == (
        '{"type":"conversation.created","timestamp":"2024-01-15T10:30:00.000Z",'
        '"data":{"conversationId":"conv_1","text":"héllo"}}'
    )
    with pytest.raises(Exception, match="too old"):  # receivers refuse stale timestamps
        Verifier(secret).verify(body, headers)


def test_ids() -> None:
    webhook_id = new_webhook_id(datetime.now(UTC))
    assert is_webhook_id(webhook_id)
    assert not is_webhook_id("wh_x")
    assert not is_webhook_id("conv_" + webhook_id[3:])
    assert event_id("t", "c", "conversation.updated", "2") == event_id(
        "t", "c", "conversation.updated", "2"
    )
    assert event_id("t", "c", "conversation.updated", "2") != event_id(
        "t", "c", "conversation.updated", "3"
    )
