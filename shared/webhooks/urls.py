"""Which webhook URLs Parley will call (SSRF protection).

A URL is checked when it is registered and again before every delivery, where the address the
check approved is the one connected to (a name that resolves differently the second time —
DNS rebinding — gets no say). Deployed: `https` only, and every address the host resolves to
must be a public unicast address. Local mode (`make dev`) also allows `http` and `https` to
127.0.0.1, ::1 and localhost, and only those among non-public addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.fields import echo

MAX_URL_CHARS = 2048
MAX_HOST_CHARS = 253  # a DNS name's longest form, without its final dot
MAX_LABEL_CHARS = 63
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_LOOPBACK = ipaddress.ip_address("127.0.0.1")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # embeds an IPv4 address in its last 32 bits

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why, in words a client can act on."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # as written (lower case, IPv6 without brackets)
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def is_local(self) -> bool:
        return self.host in LOCAL_HOSTS


def parse(url: str, *, local_mode: bool) -> Target:
    """The URL's parts, or UnsafeUrl when its form alone rules it out."""
    if len(url) > MAX_URL_CHARS:
        raise UnsafeUrl(f"Must be at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"Not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise UnsafeUrl("Must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Must not carry credentials (user:password@)")
    if parts.fragment:
        raise UnsafeUrl("Must not have a #fragment")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeUrl("Must not contain spaces or control characters")
    if port == 0:  # no server listens there: every delivery would fail for the retry window
        raise UnsafeUrl("Port must be from 1 to 65535")
    literal = _literal(host)
    if literal is None:
        _check_name(host)
    local = host in LOCAL_HOSTS
    if parts.scheme == "http" and not (local_mode and local):
        raise UnsafeUrl("Must use https")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = 443 if parts.scheme == "https" else 80
    target = Target(url, parts.scheme, host, port or default_port, path)
    if literal is not None and not (local_mode and local):
        check_address(literal)
    return target


def _check_name(host: str) -> None:
    """A host name DNS can hold: labels of 1 to 63 characters, 253 in all (no `a..b`)."""
    name = host.removesuffix(".")
    labels_fit = all(1 <= len(label) <= MAX_LABEL_CHARS for label in name.split("."))
    if len(name) > MAX_HOST_CHARS or not labels_fit:
        raise UnsafeUrl(f"Host {echo(host)} is not a valid host name")


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_address(address: Address) -> None:
    """Refuse anything that is not a public unicast address: private, loopback, link-local
    (169.254.169.254, the cloud metadata service, among them), CGNAT 100.64/10, unique-local
    IPv6 (fd00:ec2::254 among them), multicast, reserved, unspecified, documentation ranges,
    and IPv4 addresses hidden in IPv6 forms."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            check_address(embedded)
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        raise UnsafeUrl(f"Resolves to {address}, which is not a public address")


def resolve(target: Target, *, local_mode: bool) -> Address:
    """The address to connect to. Every address the host resolves to must pass (a name that
    mixes public and private answers is refused); UnsafeUrl otherwise, or when it does not
    resolve."""
    if local_mode and target.is_local:
        literal = _literal(target.host)
        return literal if literal is not None else _LOOPBACK
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"Host {target.host} does not resolve: {exc}") from None
    addresses: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        check_address(address)
        addresses.append(address)
    if not addresses:
        raise UnsafeUrl(f"Host {target.host} does not resolve")
    return addresses[0]


def check_url(url: str, *, local_mode: bool) -> Target:
    """Registration: the form and what the host resolves to now."""
    target = parse(url, local_mode=local_mode)
    resolve(target, local_mode=local_mode)
    return target
