"""Slow clients: a request's headers must arrive within COUNTERSIGN_HEADER_TIMEOUT_S (10 s) of its first byte
(of the connection, for the first request) and its body within COUNTERSIGN_BODY_TIMEOUT_S (30 s) of its headers;
else the connection is closed. Without this, 1,000 sockets sending a header line every half second all stayed
open. Time spent answering (a long-poll, a slow handler) is not counted: the clock stops once the request has
fully arrived, and uvicorn's keep-alive timeout covers the quiet between requests.

A subclass of uvicorn's httptools protocol (uvicorn[standard] brings httptools), handed to `uvicorn.run(http=…)`
by `countersign serve` and the demo.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.config import Settings


def deadline_protocol(settings: Settings) -> type[asyncio.Protocol]:
    header_s, body_s = settings.header_timeout_s, settings.body_timeout_s

    class DeadlineProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(header_s)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # the next request on a kept-alive connection
                self._arm(header_s)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._arm(body_s)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


def server_options(settings: Settings) -> dict[str, Any]:
    """What `uvicorn.run` is given besides the app and address: the deadlines, and no X-Forwarded-* handling of
    its own (uvicorn believes them from 127.0.0.1 by default; services.http.clientaddr decides whom to believe)."""
    return {"http": deadline_protocol(settings), "proxy_headers": False}
