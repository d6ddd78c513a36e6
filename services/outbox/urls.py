"""Where callbacks may go. Link-local addresses (cloud metadata endpoints) are always refused; private and
loopback ones too when COUNTERSIGN_CALLBACK_DENY_PRIVATE is set. The check runs on the URL text at
registration and again on the resolved addresses at delivery time, so DNS cannot smuggle a host in."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeCallbackURL(ValueError):
    pass


def validate_callback_url_text(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeCallbackURL("callback_url must be an absolute http(s) URL")
    if any(ch in value for ch in "\r\n\t "):
        raise UnsafeCallbackURL("callback_url must not contain whitespace")
    address = _literal_address(parts.hostname)
    if address is not None and address.is_link_local:
        raise UnsafeCallbackURL("callback_url points at a link-local address, which is never allowed")
    return value


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = host.strip("[]").rstrip(".")
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the shorthands resolvers accept (2852039166, 0xA9FEA9FE, 169.254.43518) are addresses too
            ip = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:169.254.169.254 is the metadata endpoint in disguise
    return ip


def refused_reason(address: str, *, deny_private: bool) -> str | None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return f"{address} is link-local"
    if deny_private and (ip.is_private or ip.is_loopback or ip.is_reserved or ip.is_unspecified):
        return f"{address} is private or loopback (COUNTERSIGN_CALLBACK_DENY_PRIVATE)"
    return None


def check_delivery_target(url: str, *, deny_private: bool) -> None:
    """Resolve the host now and refuse if any address it maps to is forbidden."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeCallbackURL(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        reason = refused_reason(str(info[4][0]), deny_private=deny_private)
        if reason:
            raise UnsafeCallbackURL(f"callback to {host} refused: {reason}")
