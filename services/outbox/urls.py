"""Where callbacks may go.

Always refused: link-local addresses and the cloud metadata endpoints that are not link-local (AWS's IPv6
fd00:ec2::254, Alibaba's 100.100.100.200, Oracle's 192.0.0.192, Azure's wire server), in any spelling: an IPv4
address hidden inside IPv6 (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, SIIT, 6to4,
Teredo) is judged as the IPv4 address it reaches. With COUNTERSIGN_CALLBACK_DENY_PRIVATE every special-purpose
address (the IANA registries of RFC 6890: private, loopback, shared, documentation, benchmarking, multicast,
reserved, ULA, NAT64 local-use...) is refused too.

The check runs on the URL text (and, when the name resolves, on its addresses) at registration, and on the
resolved addresses at delivery time; the delivery then connects to the very addresses it checked
(services.outbox.connect), so a second DNS answer can never smuggle a host in. A name that does not resolve is a
passing fault (HostUnresolved, retried), not a refusal.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Protocol
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192", "168.63.129.16",
))

# IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its updates), plus multicast.
SPECIAL = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48",
    "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
    "fec0::/10", "ff00::/8",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIIT = ipaddress.ip_network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeCallbackURL(ValueError):
    """Refused by policy: retrying never helps."""


class HostUnresolved(Exception):
    """The name did not resolve now; it may later (a DNS outage at the agent's side)."""


class Resolver(Protocol):
    """Name to addresses, handed in on the app's context so tests can say what a name resolves to."""

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses `host` maps to now; raises HostUnresolved when it maps to none."""
        ...


class SystemResolver:
    def resolve(self, host: str, port: int) -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostUnresolved(f"cannot resolve {host}: {exc}") from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def embedded_ipv4(ip: IP) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (and reaches, through a translator or tunnel), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _SIIT:
        return low32
    if ip in _COMPATIBLE and int(ip) > 1:  # ::a.b.c.d, deprecated but still routed by some stacks
        return low32
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client behind the tunnel
    return None


def refused_reason(address: str | IP, *, deny_private: bool) -> str | None:
    """Why a callback to this address is refused, or None when it may be contacted."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:  # fe80::1%eth0: judge the address, not the zone
        ip = ipaddress.IPv6Address(str(ip).split("%")[0])
    candidates = [ip] + [v4 for v4 in [embedded_ipv4(ip)] if v4 is not None]
    for candidate in candidates:
        if candidate.is_link_local:
            return f"{address} is link-local"
        if candidate in METADATA:
            return f"{address} is a cloud metadata endpoint"
    if deny_private:
        for candidate in candidates:
            if candidate.is_loopback or candidate.is_private or any(candidate in net for net in SPECIAL
                                                                     if net.version == candidate.version):
                return f"{address} is private or loopback or special-purpose (COUNTERSIGN_CALLBACK_DENY_PRIVATE)"
    return None


def validate_callback_url_text(value: str, *, deny_private: bool = False) -> str:
    """The URL's own text: an absolute http(s) URL whose host, if an address literal, is allowed."""
    if any(ch in value for ch in "\r\n\t "):
        raise UnsafeCallbackURL("callback_url must not contain whitespace")
    try:
        parts = urlsplit(value)
        hostname, _ = parts.hostname, parts.port
    except ValueError as exc:  # e.g. an unbalanced '[' in the host
        raise UnsafeCallbackURL("callback_url is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise UnsafeCallbackURL("callback_url must be an absolute http(s) URL")
    address = _literal_address(hostname)
    if address is not None:
        reason = refused_reason(address, deny_private=deny_private)
        if reason:
            raise UnsafeCallbackURL(f"callback_url is refused: {reason}")
    return value


def _literal_address(host: str) -> IP | None:
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        try:  # the shorthands resolvers accept (2852039166, 0xA9FEA9FE, 169.254.43518) are addresses too
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None


def checked_addresses(host: str, port: int, *, deny_private: bool, resolver: Resolver) -> list[str]:
    """The addresses to connect to for `host`, every one of them allowed; the caller connects only to these.
    Raises UnsafeCallbackURL when any answer is refused (a name that maps anywhere forbidden is not trusted with
    its other answers), HostUnresolved when there is no answer."""
    literal = _literal_address(host)
    addresses = [str(literal)] if literal is not None else resolver.resolve(host.rstrip("."), port)
    if not addresses:
        raise HostUnresolved(f"cannot resolve {host}: no addresses")
    for address in addresses:
        reason = refused_reason(address, deny_private=deny_private)
        if reason:
            raise UnsafeCallbackURL(f"callback to {host} refused: {reason}")
    return addresses


def check_delivery_target(url: str, *, deny_private: bool, resolver: Resolver | None = None) -> list[str]:
    """The URL's text, then its host resolved now: the addresses a delivery may connect to."""
    validate_callback_url_text(url, deny_private=deny_private)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return checked_addresses(parts.hostname or "", port, deny_private=deny_private,
                             resolver=resolver or SystemResolver())
