"""Who is on the other end: the peer's address, or, when the peer is a trusted proxy
(COUNTERSIGN_TRUSTED_PROXIES), the address and scheme it reports in X-Forwarded-For and X-Forwarded-Proto.
Those headers from anyone else are ignored: a client could write anything in them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Scope = dict[str, Any]


@lru_cache(maxsize=8)
def parse_networks(value: str) -> tuple[Network, ...]:
    """'10.0.0.1, 10.1.0.0/16' -> networks; a bad entry raises ValueError naming it."""
    networks = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR (e.g. 10.0.0.1 or 10.0.0.0/8)") from None
    return tuple(networks)


def trusts(networks: tuple[Network, ...], address: str) -> bool:
    if not networks:  # no proxy is trusted (the default): nothing to parse, on every request
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers") or [] if k == name]
    return ",".join(values)


def peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def client_address(scope: Scope, proxies: str) -> str:
    """The client's address: the peer's, or the nearest hop in X-Forwarded-For that no trusted proxy wrote."""
    networks = parse_networks(proxies)
    address = peer(scope)
    if not trusts(networks, address):
        return address
    hops = [hop.strip() for hop in _header(scope, b"x-forwarded-for").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusts(networks, hop):
            return hop[:64]
    return hops[0][:64] if hops else address


def forwarded_https(scope: Scope, proxies: str) -> bool:
    """True when a trusted proxy says the client reached it over https (the last X-Forwarded-Proto is its own)."""
    if not trusts(parse_networks(proxies), peer(scope)):
        return False
    protos = [p.strip().lower() for p in _header(scope, b"x-forwarded-proto").split(",") if p.strip()]
    return bool(protos) and protos[-1] == "https"
