"""How callbacks reach agents: an HTTP client whose connections go only to addresses the policy checked.

The host is resolved once per connection, every answer is judged (services.outbox.urls), and the socket is opened
to one of those very addresses; TLS still verifies the certificate against the host name (SNI), because the
request keeps its URL. A second, different DNS answer (rebinding) is never asked for, so it can never be used.
Proxies from the environment are not used: a proxy would resolve the name again, out of our sight.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from functools import cache

import httpcore
import httpx

from services.outbox.urls import Resolver, checked_addresses


class CheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, *, resolver: Resolver, deny_private: bool) -> None:
        self._resolver, self._deny_private = resolver, deny_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                          ) -> httpcore.AsyncNetworkStream:
        """Raises UnsafeCallbackURL (refused: give up) or HostUnresolved (retry later) before any socket opens."""
        addresses = await asyncio.to_thread(checked_addresses, host, port, deny_private=self._deny_private,
                                            resolver=self._resolver)
        failure: Exception | None = None
        for address in addresses:  # the next checked address when one does not answer, as a browser would
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("callbacks go over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@cache
def system_ssl_context() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once per process: loading them costs tens of ms of CPU, and an
    SSLContext is safe to share between clients and threads."""
    return httpx.create_ssl_context(trust_env=False)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request and error mapping, pooling) over a pool that connects through the check."""

    def __init__(self, *, resolver: Resolver, deny_private: bool, ssl_context: ssl.SSLContext | None = None) -> None:
        ssl_context = ssl_context or system_ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)  # httpx's own pool, replaced below: no second context
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
        # httpx builds its pool in __init__ with no way to hand in a network backend: replace it with one that has.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(resolver=resolver, deny_private=deny_private))


def callback_client(*, resolver: Resolver, deny_private: bool,
                    ssl_context: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    """`ssl_context`: the certificate authorities to trust (default: the system's)."""
    transport = CheckedTransport(resolver=resolver, deny_private=deny_private, ssl_context=ssl_context)
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False)
